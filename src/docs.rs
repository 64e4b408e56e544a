//! Rule documentation renderings: the rule list (text, JSON, Markdown) and the
//! page of one rule, all from the rules' doc comments.

use serde::Serialize;

use crate::rules::{Rule, RuleMeta};

#[derive(Serialize)]
struct RuleEntry<'a> {
    name: &'a str,
    severity: &'a str,
    kinds: &'a [&'a str],
    upstream: &'a [&'a str],
    summary: String,
    documentation: String,
}

fn entry(meta: &RuleMeta) -> RuleEntry<'_> {
    RuleEntry {
        name: meta.name,
        severity: meta.severity.as_str(),
        kinds: meta.kinds,
        upstream: meta.upstream,
        summary: meta.summary(),
        documentation: meta.documentation(),
    }
}

/// The rule list as aligned text for the terminal.
pub fn list_text(rules: &[&'static dyn Rule]) -> String {
    let width = rules.iter().map(|r| r.meta().name.len()).max().unwrap_or(0);
    let mut out = String::new();
    for r in rules {
        let m = r.meta();
        let upstream = if m.upstream.is_empty() {
            String::new()
        } else {
            format!(" [{}]", m.upstream.join(", "))
        };
        out.push_str(&format!(
            "{:<width$}  {:<7}  {}{upstream}\n",
            m.name,
            m.severity.as_str(),
            m.summary()
        ));
    }
    out.push_str(&format!(
        "\nSchema checks use the schema of {}.\n",
        crate::schema::describe_source()
    ));
    out
}

/// The rule list as JSON (an array of objects, in name order).
pub fn list_json(rules: &[&'static dyn Rule]) -> String {
    let entries: Vec<RuleEntry<'_>> = rules.iter().map(|r| entry(r.meta())).collect();
    let mut out = serde_json::to_string_pretty(&entries).unwrap_or_else(|_| "[]".to_owned());
    out.push('\n');
    out
}

/// The rule list as a Markdown table.
pub fn list_markdown(rules: &[&'static dyn Rule]) -> String {
    let mut out = String::from(
        "| Rule | Severity | Kinds | Upstream | Summary |\n| --- | --- | --- | --- | --- |\n",
    );
    for r in rules {
        let m = r.meta();
        out.push_str(&format!(
            "| [`{0}`]({0}.md) | {1} | {2} | {3} | {4} |\n",
            m.name,
            m.severity.as_str(),
            m.kinds.join(", "),
            m.upstream.join(", "),
            m.summary().replace('|', "\\|")
        ));
    }
    out
}

/// One rule's page, as printed by `meshvet rule NAME` and written to `rules/NAME.md`.
pub fn page(meta: &RuleMeta) -> String {
    let mut out = format!("# {}\n\n", meta.name);
    out.push_str(&format!("- Default severity: {}\n", meta.severity.as_str()));
    if !meta.kinds.is_empty() {
        out.push_str(&format!("- Kinds: {}\n", meta.kinds.join(", ")));
    }
    if !meta.upstream.is_empty() {
        out.push_str(&format!("- Upstream codes: {}\n", meta.upstream.join(", ")));
    }
    out.push('\n');
    out.push_str(&meta.documentation());
    out.push('\n');
    out
}

/// The index page `rules/README.md`.
pub fn index_page(rules: &[&'static dyn Rule]) -> String {
    format!(
        "# meshvet rules\n\nGenerated from the rules' doc comments by `meshvet rules --write-docs rules`; do not edit by hand.\n\nSchema checks use the schema of {}.\n\n{}",
        crate::schema::describe_source(),
        list_markdown(rules)
    )
}

/// Writes `README.md` and one page per rule into `dir`.
pub fn write_pages(dir: &std::path::Path, rules: &[&'static dyn Rule]) -> std::io::Result<usize> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join("README.md"), index_page(rules))?;
    for r in rules {
        std::fs::write(dir.join(format!("{}.md", r.meta().name)), page(r.meta()))?;
    }
    Ok(rules.len() + 1)
}

/// The rule table of the README (between its `rules:start`/`rules:end` markers).
pub fn readme_table(rules: &[&'static dyn Rule]) -> String {
    let mut out =
        String::from("| Rule | Severity | Upstream | Flags |\n| --- | --- | --- | --- |\n");
    for r in rules {
        let m = r.meta();
        let summary = m.summary();
        let summary = summary.strip_prefix("Flags ").unwrap_or(&summary);
        out.push_str(&format!(
            "| [`{0}`](rules/{0}.md) | {1} | {2} | {3} |\n",
            m.name,
            m.severity.as_str(),
            m.upstream.join(", "),
            summary.replace('|', "\\|")
        ));
    }
    out
}

/// Replaces the text between `<!-- rules:start -->` and `<!-- rules:end -->`.
pub fn splice_readme_table(readme: &str, table: &str) -> Option<String> {
    const START: &str = "<!-- rules:start -->\n";
    const END: &str = "<!-- rules:end -->";
    let i = readme.find(START)? + START.len();
    let j = readme[i..].find(END)? + i;
    Some(format!("{}{}{}", &readme[..i], table, &readme[j..]))
}
