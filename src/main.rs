//! The `meshvet` command: argument parsing and exit status, nothing else.
//!
//! Exit status: 0 when nothing reaches `--fail-on`, 1 when something does,
//! 2 when meshvet could not do its job (bad arguments, unreadable config, a
//! named path that does not exist, no manifests).

use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, Subcommand, ValueEnum};

use meshvet::config::{self, Config, FailOn, RuleLevel};
use meshvet::report::paths::RepoPaths;
use meshvet::report::{Report, github, gitlab, human, json, junit, sarif};
use meshvet::{Inputs, Options, docs, rules};

#[derive(Parser)]
#[command(
    name = "meshvet",
    version,
    about = "Finds Istio traffic-routing mistakes in Git, before they reach a cluster"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Analyse manifests under the given paths ("-" reads one YAML stream from stdin).
    Check(Box<CheckArgs>),
    /// List every rule.
    Rules {
        /// Output format.
        #[arg(long, value_enum, default_value_t = ListFormat::Text)]
        format: ListFormat,
        /// Write `README.md` and one Markdown page per rule into this folder.
        #[arg(long, value_name = "DIR")]
        write_docs: Option<PathBuf>,
    },
    /// Explain one rule.
    Rule {
        /// The rule's name, e.g. undeclared-subset.
        name: String,
    },
}

#[derive(clap::Args)]
struct CheckArgs {
    /// Files or directories to analyse; "-" reads stdin.
    #[arg(default_value = ".")]
    paths: Vec<PathBuf>,
    /// Report format (default human). Repeat it, each with an --output, to write
    /// several reports from one run; at most one format goes to stdout.
    #[arg(long, value_enum, value_name = "FORMAT")]
    format: Vec<Format>,
    /// Write the report to this file instead of stdout ("-" is stdout). The i-th
    /// --output belongs to the i-th --format.
    #[arg(long, short, value_name = "FILE")]
    output: Vec<PathBuf>,
    /// Analyse every path, but report only findings whose file is one of these.
    #[arg(long, num_args = 1.., value_name = "PATH")]
    report_only: Option<Vec<PathBuf>>,
    /// Base URL of the rule pages (default: the repository's `rules/` folder).
    #[arg(long, value_name = "URL")]
    docs_url: Option<String>,
    /// Exit 1 when a finding has at least this severity.
    #[arg(long, value_parser = ["error", "warning", "info", "never"])]
    fail_on: Option<String>,
    /// Run only these rules (comma-separated).
    #[arg(long, value_delimiter = ',')]
    select: Option<Vec<String>>,
    /// Do not run these rules (comma-separated).
    #[arg(long, value_delimiter = ',')]
    ignore: Vec<String>,
    /// Configuration file (default: nearest .meshvet.yaml at or above the first path).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Namespace of objects that name none.
    #[arg(long)]
    namespace: Option<String>,
    /// Cluster DNS domain short host names expand into.
    #[arg(long)]
    cluster_domain: Option<String>,
    /// File name to report for stdin.
    #[arg(long, default_value = "<stdin>")]
    stdin_filename: String,
    /// Print per-phase times and counts on stderr.
    #[arg(long)]
    timings: bool,
    /// Exit 0 rather than 2 when no manifest is found.
    #[arg(long)]
    allow_empty: bool,
    /// When to use colours in human output.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    color: ColorChoice,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    /// For people: source excerpts with carets, help and links.
    Human,
    /// meshvet's JSON, format version 1.
    Json,
    /// SARIF 2.1.0, for GitHub code scanning and SARIF viewers.
    Sarif,
    /// GitHub Actions workflow commands (annotations), plus a job summary.
    Github,
    /// JUnit XML, for GitLab test reports and Jenkins.
    Junit,
    /// GitLab Code Quality JSON.
    Gitlab,
}

/// Where one rendering goes.
struct Target {
    format: Format,
    /// `None` for stdout.
    file: Option<PathBuf>,
}

#[derive(Clone, Copy, ValueEnum)]
enum ListFormat {
    Text,
    Json,
    Markdown,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ColorChoice {
    Auto,
    Always,
    Never,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Check(args) => match run_check(*args) {
            Ok(code) => code,
            Err(message) => {
                eprintln!("meshvet: error: {message}");
                ExitCode::from(2)
            }
        },
        Command::Rules {
            write_docs: Some(dir),
            ..
        } => match docs::write_pages(&dir, rules::all()) {
            Ok(n) => {
                eprintln!("wrote {n} pages to {}", dir.display());
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("meshvet: error: cannot write {}: {e}", dir.display());
                ExitCode::from(2)
            }
        },
        Command::Rules { format, .. } => {
            let all = rules::all();
            print_stdout(&match format {
                ListFormat::Text => docs::list_text(all),
                ListFormat::Json => docs::list_json(all),
                ListFormat::Markdown => docs::list_markdown(all),
            });
            ExitCode::SUCCESS
        }
        Command::Rule { name } => match rules::find(&name) {
            Some(rule) => {
                print_stdout(&docs::page(rule.meta()));
                ExitCode::SUCCESS
            }
            None => {
                let hint = rules::suggest(&name)
                    .map(|s| format!(" (did you mean `{s}`?)"))
                    .unwrap_or_default();
                eprintln!(
                    "meshvet: error: unknown rule `{name}`{hint}; `meshvet rules` lists them"
                );
                ExitCode::from(2)
            }
        },
    }
}

fn run_check(args: CheckArgs) -> Result<ExitCode, String> {
    let targets = plan_outputs(&args)?;
    let config = load_config(&args)?;
    let cwd =
        std::env::current_dir().map_err(|e| format!("cannot read the current directory: {e}"))?;
    let mut opts = Options::default();
    if let Some(ns) = args.namespace.clone().or(config.namespace.clone()) {
        opts.settings.default_namespace = ns;
        opts.namespace_given = true;
    }
    if let Some(d) = args
        .cluster_domain
        .clone()
        .or(config.cluster_domain.clone())
    {
        opts.settings.cluster_domain = d;
    }
    if let Some(r) = config.root_namespace.clone() {
        opts.settings.root_namespace = r;
    }
    opts.settings.istio_version = config.istio_version;
    opts.settings.external_hosts = config.external_hosts.clone();
    if let Some(n) = config.retry_storm_min_attempts {
        opts.settings.retry_storm_min_attempts = n;
    }
    opts.select = args.select.clone().or(config.select.clone());
    opts.ignore = args.ignore.iter().chain(&config.ignore).cloned().collect();
    for (rule, level) in &config.severity {
        match level {
            RuleLevel::Off => opts.ignore.push(rule.clone()),
            RuleLevel::Level(s) => opts.severity.push((rule.clone(), *s)),
        }
    }
    opts.allow_empty = args.allow_empty;
    let fail_on = match &args.fail_on {
        Some(s) => FailOn::parse(s).unwrap_or(FailOn::Severity(meshvet::report::Severity::Error)),
        None => config
            .fail_on
            .unwrap_or(FailOn::Severity(meshvet::report::Severity::Error)),
    };

    let mut inputs = Inputs::default();
    for path in &args.paths {
        if path.as_os_str() == "-" {
            let mut bytes = Vec::new();
            std::io::stdin()
                .read_to_end(&mut bytes)
                .map_err(|e| format!("cannot read stdin: {e}"))?;
            inputs.stdin = Some((args.stdin_filename.clone(), bytes));
        } else {
            inputs.paths.push(path.clone());
        }
    }

    let mut report = meshvet::check(&inputs, &opts).map_err(|e| e.to_string())?;
    if let Some(files) = &args.report_only {
        report.retain_files(files, &cwd);
    }
    let started = Instant::now();
    let mut docs_base = args
        .docs_url
        .clone()
        .or(config.docs_url.clone())
        .unwrap_or_else(|| meshvet::DOCS_BASE.to_owned());
    if !docs_base.ends_with('/') {
        docs_base.push('/');
    }
    let ctx = RenderContext {
        paths: RepoPaths::discover(inputs.paths.first().map(PathBuf::as_path), &cwd),
        docs_base,
        color: args.color,
    };
    for target in &targets {
        let rendered = render(&report, target, &ctx);
        write_output(target, &rendered)?;
    }
    if targets.iter().any(|t| t.format == Format::Github) {
        write_job_summary(&report, &ctx);
    }
    report.timings.render = started.elapsed();
    if args.timings {
        eprint!("{}", report.timings.render(&report.summary));
    }
    let failed = match fail_on {
        FailOn::Never => false,
        FailOn::Severity(s) => report.max_severity().is_some_and(|m| m >= s),
    };
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn load_config(args: &CheckArgs) -> Result<Config, String> {
    let path = match &args.config {
        Some(p) => {
            if !p.is_file() {
                return Err(format!("config file not found: {}", p.display()));
            }
            Some(p.clone())
        }
        None => args
            .paths
            .iter()
            .find(|p| p.as_os_str() != "-")
            .map_or_else(|| config::find(&PathBuf::from(".")), |p| config::find(p)),
    };
    match path {
        Some(p) => config::load(&p).map_err(|e| e.to_string()),
        None => Ok(Config::default()),
    }
}

/// Checks `--format`/`--output` pairs: the i-th output belongs to the i-th format,
/// and at most one report goes to stdout.
fn plan_outputs(args: &CheckArgs) -> Result<Vec<Target>, String> {
    let formats = if args.format.is_empty() {
        vec![Format::Human]
    } else {
        args.format.clone()
    };
    if args.output.len() > formats.len() {
        return Err(format!(
            "{} --output given but only {} --format; the i-th --output belongs to the i-th --format",
            args.output.len(),
            formats.len()
        ));
    }
    let targets: Vec<Target> = formats
        .into_iter()
        .enumerate()
        .map(|(i, format)| Target {
            format,
            file: args.output.get(i).filter(|p| p.as_os_str() != "-").cloned(),
        })
        .collect();
    let to_stdout = targets.iter().filter(|t| t.file.is_none()).count();
    if to_stdout > 1 {
        return Err(format!(
            "{to_stdout} reports would go to stdout; give every --format but one its own --output FILE"
        ));
    }
    let mut seen = std::collections::HashSet::new();
    for file in targets.iter().filter_map(|t| t.file.as_ref()) {
        if !seen.insert(file) {
            return Err(format!(
                "two reports would be written to {}",
                file.display()
            ));
        }
    }
    Ok(targets)
}

/// What every renderer may need beyond the report.
struct RenderContext {
    paths: RepoPaths,
    docs_base: String,
    color: ColorChoice,
}

fn render(report: &Report, target: &Target, ctx: &RenderContext) -> String {
    match target.format {
        Format::Json => json::render(report),
        Format::Sarif => {
            let out = sarif::render(
                report,
                &sarif::SarifOptions {
                    paths: ctx.paths.clone(),
                    docs_base: ctx.docs_base.clone(),
                    max_results: sarif::GITHUB_MAX_RESULTS,
                },
            );
            for note in &out.notes {
                eprintln!("meshvet: note: {note}");
            }
            out.text
        }
        Format::Github => github::render(report, &github_options(ctx)),
        Format::Junit => junit::render(
            report,
            &junit::JunitOptions {
                paths: ctx.paths.clone(),
                docs_base: ctx.docs_base.clone(),
            },
        ),
        Format::Gitlab => gitlab::render(
            report,
            &gitlab::GitlabOptions {
                paths: ctx.paths.clone(),
            },
        ),
        Format::Human => {
            let to_terminal = target.file.is_none() && std::io::stdout().is_terminal();
            let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
            let color = match ctx.color {
                ColorChoice::Always => true,
                ColorChoice::Never => false,
                ColorChoice::Auto => to_terminal && !no_color,
            };
            let width = if to_terminal {
                terminal_width().unwrap_or(100)
            } else {
                100
            };
            human::render(
                report,
                &human::HumanOptions {
                    color,
                    width,
                    docs_base: ctx.docs_base.clone(),
                },
            )
        }
    }
}

fn github_options(ctx: &RenderContext) -> github::GithubOptions {
    github::GithubOptions {
        paths: ctx.paths.clone(),
        docs_base: ctx.docs_base.clone(),
        blob_base: github::GithubOptions::blob_base_from_env(),
        summary_limit: github::SUMMARY_LIMIT,
    }
}

/// Appends the Markdown job summary to `$GITHUB_STEP_SUMMARY` when it is set. A
/// failure is reported on stderr but does not fail the run.
fn write_job_summary(report: &Report, ctx: &RenderContext) {
    let Some(path) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|p| !p.is_empty()) else {
        return;
    };
    let text = github::summary(report, &github_options(ctx));
    let written = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .and_then(|mut f| f.write_all(text.as_bytes()));
    if let Err(e) = written {
        eprintln!(
            "meshvet: warning: cannot write the job summary to {}: {e}",
            PathBuf::from(path).display()
        );
    }
}

/// Writes to stdout; a closed pipe (`meshvet rules | head`) is not worth a panic.
fn print_stdout(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}

fn terminal_width() -> Option<usize> {
    std::env::var("COLUMNS").ok()?.parse().ok()
}

fn write_output(target: &Target, text: &str) -> Result<(), String> {
    match &target.file {
        Some(path) => {
            std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
        }
        None => {
            let mut out = std::io::stdout().lock();
            // A closed pipe (`meshvet check | head`) is not an error worth a message.
            let _ = out.write_all(text.as_bytes());
            let _ = out.flush();
            Ok(())
        }
    }
}
