#!/usr/bin/env bash
# The logic of the meshvet GitHub Action (action.yml at the repository root).
#
#   action.sh plan     decide how to install meshvet: outputs `mode` (release|source),
#                      `install-dir` and, for source builds, `cache-key`
#   action.sh install  install meshvet (release archive verified against SHA256SUMS,
#                      or `cargo install --locked --path` of the action's own source);
#                      outputs `bin` and puts its folder on GITHUB_PATH
#   action.sh run      run `meshvet check` with the inputs; outputs `exit-code` and,
#                      when a SARIF file was asked for, `sarif-file`
#
# Inputs arrive as environment variables (INPUT_PATHS, INPUT_VERSION, INPUT_FAIL_ON,
# INPUT_CONFIG, INPUT_SARIF, INPUT_ANNOTATIONS, INPUT_ARGS), never spliced into code.
# Outside GitHub Actions every GITHUB_*/RUNNER_* variable is optional, so the script is
# testable locally (tests/action.rs).
set -euo pipefail

die() {
    # An `::error::` line shows as an annotation on the run; the text stays readable locally.
    printf '::error title=meshvet action::%s\n' "$*" >&2
    exit 2
}

note() { printf 'meshvet action: %s\n' "$*" >&2; }

# `name=value` into GITHUB_OUTPUT; a value with a line break could forge other outputs.
set_output() {
    local name=$1 value=$2
    case $value in
    *$'\n'* | *$'\r'*) die "output $name would contain a line break" ;;
    esac
    if [[ -n ${GITHUB_OUTPUT:-} ]]; then
        printf '%s=%s\n' "$name" "$value" >>"$GITHUB_OUTPUT"
    fi
}

sha256_of() {
    if command -v sha256sum >/dev/null 2>&1; then
        sha256sum "$1" | cut -d' ' -f1
    elif command -v shasum >/dev/null 2>&1; then
        shasum -a 256 "$1" | cut -d' ' -f1
    else
        openssl dgst -sha256 -r "$1" | cut -d' ' -f1
    fi
}

# Where the action's own source is (the repository root, one level above scripts/).
action_path() {
    if [[ -n ${GITHUB_ACTION_PATH:-} ]]; then
        printf '%s\n' "$GITHUB_ACTION_PATH"
    else
        (cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
    fi
}

exe_suffix() {
    case ${RUNNER_OS:-$(uname -s)} in
    Windows | MINGW* | MSYS* | CYGWIN*) printf '.exe' ;;
    esac
}

# Release version from INPUT_VERSION: `1.2.3` or `v1.2.3`; empty means build from source.
release_version() {
    local v=${INPUT_VERSION:-}
    v=${v#v}
    if [[ -n $v && ! $v =~ ^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.]+)?$ ]]; then
        die "version must look like 1.2.3 (or v1.2.3), got '${INPUT_VERSION}'"
    fi
    printf '%s' "$v"
}

# The Rust target whose release archive runs on this runner. Must match release.yml.
release_target() {
    local os=${RUNNER_OS:-} arch=${RUNNER_ARCH:-}
    if [[ -z $os ]]; then
        case $(uname -s) in
        Linux) os=Linux ;; Darwin) os=macOS ;; MINGW* | MSYS* | CYGWIN*) os=Windows ;;
        esac
    fi
    if [[ -z $arch ]]; then
        case $(uname -m) in
        x86_64 | amd64) arch=X64 ;; aarch64 | arm64) arch=ARM64 ;;
        esac
    fi
    case "$os/$arch" in
    Linux/X64) printf 'x86_64-unknown-linux-musl' ;;
    Linux/ARM64) printf 'aarch64-unknown-linux-musl' ;;
    macOS/X64) printf 'x86_64-apple-darwin' ;;
    macOS/ARM64) printf 'aarch64-apple-darwin' ;;
    # Windows on Arm runs x64 binaries.
    Windows/X64 | Windows/ARM64) printf 'x86_64-pc-windows-msvc' ;;
    *) die "no meshvet release binary for $os/$arch; leave 'version' empty to build from source" ;;
    esac
}

tool_root() {
    printf '%s/meshvet' "${RUNNER_TOOL_CACHE:-${RUNNER_TEMP:-${TMPDIR:-/tmp}}}"
}

# A key that changes whenever anything the build reads changes.
source_cache_key() {
    local root list
    root=$(action_path)
    list=$(mktemp)
    (
        cd "$root"
        { printf '%s\n' Cargo.toml Cargo.lock; find src -type f; } | LC_ALL=C sort | while IFS= read -r f; do
            printf '%s %s\n' "$(sha256_of "$f")" "$f"
        done
    ) >"$list"
    printf 'meshvet-source-%s-%s-%s' "${RUNNER_OS:-$(uname -s)}" "${RUNNER_ARCH:-$(uname -m)}" "$(sha256_of "$list")"
    rm -f "$list"
}

cmd_plan() {
    local version key target
    version=$(release_version)
    if [[ -n $version ]]; then
        target=$(release_target)
        set_output mode release
        set_output install-dir "$(tool_root)/$version/$target"
    else
        key=$(source_cache_key)
        set_output mode source
        set_output cache-key "$key"
        set_output install-dir "$(tool_root)/source/${key##*-}"
    fi
}

extract() {
    local archive=$1 dest=$2
    case $archive in
    *.tar.gz) tar -xzf "$archive" -C "$dest" ;;
    *.zip)
        if command -v unzip >/dev/null 2>&1; then
            unzip -q "$archive" -d "$dest"
        else
            7z x -y -o"$dest" "$archive" >/dev/null
        fi
        ;;
    esac
}

install_release() {
    local version=$1 dir=$2 target archive base repo work expected actual exe
    target=$(release_target)
    exe=$(exe_suffix)
    case $target in *windows*) archive="meshvet-$version-$target.zip" ;; *) archive="meshvet-$version-$target.tar.gz" ;; esac
    repo=${MESHVET_REPOSITORY:-}
    [[ -n $repo ]] || repo=meshvet/meshvet
    base=${MESHVET_RELEASE_BASE_URL:-${GITHUB_SERVER_URL:-https://github.com}/$repo/releases/download}
    base="$base/v$version"
    work=$(mktemp -d)
    note "downloading $base/$archive"
    curl --fail --silent --show-error --location --retry 3 -o "$work/$archive" "$base/$archive" ||
        die "cannot download $base/$archive"
    curl --fail --silent --show-error --location --retry 3 -o "$work/SHA256SUMS" "$base/SHA256SUMS" ||
        die "cannot download $base/SHA256SUMS"
    expected=$(awk -v f="$archive" '$2 == f || $2 == "*" f { print $1; exit }' "$work/SHA256SUMS")
    [[ -n $expected ]] || die "SHA256SUMS of v$version lists no $archive"
    actual=$(sha256_of "$work/$archive")
    [[ $actual == "$expected" ]] ||
        die "checksum mismatch for $archive: expected $expected, got $actual"
    note "verified SHA-256 of $archive: $actual"
    mkdir -p "$work/x" "$dir/bin"
    extract "$work/$archive" "$work/x"
    local found
    found=$(find "$work/x" -type f -name "meshvet$exe" | head -n 1)
    [[ -n $found ]] || die "$archive holds no meshvet$exe"
    cp "$found" "$dir/bin/meshvet$exe"
    chmod +x "$dir/bin/meshvet$exe"
    rm -rf "$work"
}

install_source() {
    local dir=$1 root
    root=$(action_path)
    command -v cargo >/dev/null 2>&1 ||
        die "cargo is not installed: set up Rust first, or give 'version' to use a release binary"
    note "building meshvet from $root"
    cargo install --locked --path "$root" --root "$dir" ||
        die "cargo install failed"
}

cmd_install() {
    local version dir exe bin target
    version=$(release_version)
    dir=${MESHVET_INSTALL_DIR:-}
    if [[ -z $dir ]]; then
        if [[ -n $version ]]; then
            target=$(release_target)
            dir="$(tool_root)/$version/$target"
        else
            dir="$(tool_root)/source/local"
        fi
    fi
    exe=$(exe_suffix)
    bin="$dir/bin/meshvet$exe"
    if [[ -x $bin ]]; then
        note "using cached $bin"
    elif [[ -n $version ]]; then
        install_release "$version" "$dir"
    else
        install_source "$dir"
    fi
    "$bin" --version >&2 || die "$bin does not run"
    if [[ -n ${GITHUB_PATH:-} ]]; then
        printf '%s\n' "$dir/bin" >>"$GITHUB_PATH"
    fi
    set_output bin "$bin"
}

cmd_run() {
    local bin=${MESHVET_BIN:-meshvet}
    local fail_on=${INPUT_FAIL_ON:-} config=${INPUT_CONFIG:-} sarif=${INPUT_SARIF:-}
    local annotations=${INPUT_ANNOTATIONS:-true}
    local -a paths=() extra=() cmd=()

    case $fail_on in
    '' | error | warning | info | never) ;;
    *) die "fail-on must be error, warning, info or never, got '$fail_on'" ;;
    esac
    case $annotations in
    true | false) ;;
    *) die "annotations must be true or false, got '$annotations'" ;;
    esac
    case $sarif in
    *$'\n'* | *$'\r'*) die "sarif must be one path, without line breaks" ;;
    esac

    if [[ -n ${GITHUB_WORKSPACE:-} ]]; then
        cd "$GITHUB_WORKSPACE"
    fi

    # Whitespace-separated lists, taken literally: no globbing, no quotes, no `$`.
    set -f
    # shellcheck disable=SC2206
    paths=(${INPUT_PATHS:-})
    # shellcheck disable=SC2206
    extra=(${INPUT_ARGS:-})
    set +f
    [[ ${#paths[@]} -gt 0 ]] || paths=(.)

    cmd=("$bin" check "${paths[@]}")
    [[ -z $fail_on ]] || cmd+=(--fail-on "$fail_on")
    [[ -z $config ]] || cmd+=(--config "$config")
    case $sarif in
    '' | false) sarif='' ;;
    true) sarif="${RUNNER_TEMP:-$PWD}/meshvet.sarif" ;;
    esac
    if [[ -n $sarif ]]; then
        mkdir -p "$(dirname "$sarif")"
        rm -f "$sarif"
        cmd+=(--format sarif --output "$sarif")
    fi
    # Then the report on stdout ("-"): workflow commands (annotations, plus the job
    # summary when GITHUB_STEP_SUMMARY is set) or the human report. Each --format takes
    # the --output of the same rank, so every format gets one, and formats in `args`
    # pair with their own outputs.
    if [[ $annotations == true ]]; then
        cmd+=(--format github --output -)
    else
        cmd+=(--format human --output -)
    fi
    cmd+=("${extra[@]}")

    note "running: ${cmd[*]}"
    local rc=0
    "${cmd[@]}" || rc=$?
    set_output exit-code "$rc"
    if [[ -n $sarif ]]; then
        if [[ -f $sarif ]]; then
            case $sarif in
            /* | [A-Za-z]:[/\\]*) ;;
            *) sarif="$PWD/$sarif" ;;
            esac
            set_output sarif-file "$sarif"
        elif [[ $rc -lt 2 ]]; then
            die "meshvet wrote no SARIF file at $sarif"
        fi
    fi
    case $rc in
    0) ;;
    1) note "findings at or above the fail-on severity: failing the step" ;;
    *) note "meshvet could not complete the check (exit $rc)" ;;
    esac
    exit "$rc"
}

case ${1:-} in
plan) cmd_plan ;;
install) cmd_install ;;
run) cmd_run ;;
*)
    echo "usage: action.sh plan|install|run" >&2
    exit 2
    ;;
esac
