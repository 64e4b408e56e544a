//! Writes meshvet's compact schema of the Istio kinds to stdout.
//!
//! ```text
//! cargo run --example gen_schema -- /path/to/crd-all.gen.yaml > src/schema/istio.schema.json
//! ```
//!
//! The CRD file is Istio's `manifests/charts/base/files/crd-all.gen.yaml`. Pass
//! `--commit SHA --version DESCRIBE` when it comes from another Istio commit.

use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let mut file = None;
    let mut source = meshvet::schema::generate::default_source();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--commit" => source.commit = args.next().unwrap_or_default(),
            "--version" => source.version = args.next().unwrap_or_default(),
            "--path" => source.path = args.next().unwrap_or_default(),
            _ => file = Some(arg),
        }
    }
    let Some(file) = file else {
        eprintln!("usage: gen_schema CRD_FILE [--commit SHA] [--version DESCRIBE] [--path PATH]");
        return ExitCode::from(2);
    };
    let text = match std::fs::read_to_string(&file) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("gen_schema: cannot read {file}: {e}");
            return ExitCode::from(2);
        }
    };
    match meshvet::schema::generate::generate(&text, source) {
        Ok(out) => {
            print!("{out}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("gen_schema: {e}");
            ExitCode::from(1)
        }
    }
}
