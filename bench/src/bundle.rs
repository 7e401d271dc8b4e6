//! Budget 1, bundle size: every file of the release `dist/` the browser
//! downloads (not IMserver.php), raw, gzip -9 and brotli -q 11, and what
//! takes the room in the WebAssembly according to `twiggy`.
//!
//! The gzip figure is the one `scripts/check-size` holds the test command
//! to: each file through the system's `gzip -9 -n` on its own, the sizes
//! summed, 1 KB = 1000 B.
//!
//! twiggy needs function names, which the shipped wasm no longer has. So the
//! wasm that rustc wrote (before wasm-bindgen) is run through the same
//! wasm-bindgen and `wasm-opt -Oz` as Trunk's build, keeping the name
//! section (`-g`): the functions and their sizes are those that ship.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use crate::report::Row;
use crate::util::{Result, TempDir};

/// The gzip budget for everything the browser downloads, in bytes (1 KB =
/// 1000 B): the whole app's, the same as `scripts/check-size`'s.
pub const GZIP_BUDGET: usize = 200_000;

/// The WebAssembly features rustc enables by default (as in index.html).
const WASM_FEATURES: &[&str] = &[
    "--enable-bulk-memory",
    "--enable-bulk-memory-opt",
    "--enable-nontrapping-float-to-int",
    "--enable-sign-ext",
    "--enable-mutable-globals",
    "--enable-reference-types",
    "--enable-multivalue",
];

/// The size of `path` after `gzip -9 -n` (no name or time in the header),
/// as `scripts/check-size` measures it.
pub fn gzip(path: &Path) -> Result<usize> {
    let file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let out = Command::new("gzip")
        .args(["-9", "-n", "-c"])
        .stdin(file)
        .output()
        .map_err(|e| format!("cannot run gzip: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "gzip failed on {}: {}",
            path.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(out.stdout.len())
}

pub fn brotli(bytes: &[u8]) -> usize {
    let mut out = Vec::new();
    let params = brotli::enc::BrotliEncoderParams {
        quality: 11,
        lgwin: 22,
        ..Default::default()
    };
    brotli::BrotliCompress(&mut &bytes[..], &mut out, &params).expect("in memory");
    out.len()
}

struct FileSize {
    name: String,
    raw: usize,
    gzip: usize,
    brotli: usize,
}

fn kind(name: &str) -> &'static str {
    match name.rsplit('.').next() {
        Some("wasm") => "wasm",
        Some("js") => "js",
        Some("css") => "css",
        Some("html") => "html",
        _ => "other",
    }
}

/// Every file under `folder`, subfolders included (wasm-bindgen puts a
/// crate's JavaScript snippets in `snippets/`), except IMserver.php.
fn downloads(folder: &Path, files: &mut Vec<std::path::PathBuf>) -> Result<()> {
    for entry in std::fs::read_dir(folder).map_err(|e| format!("{}: {e}", folder.display()))? {
        let path = entry.map_err(|e| e.to_string())?.path();
        if path.is_dir() {
            downloads(&path, files)?;
        } else if path.is_file() && path.extension().is_none_or(|e| e != "php") {
            files.push(path);
        }
    }
    Ok(())
}

pub fn run(dist: &Path, rustc_wasm: Option<&Path>, details: &mut String) -> Result<Row> {
    let mut paths = Vec::new();
    downloads(dist, &mut paths)?;
    let mut files = Vec::new();
    for path in paths {
        let name = path.strip_prefix(dist).unwrap_or(&path).display().to_string();
        let bytes = std::fs::read(&path).map_err(|e| e.to_string())?;
        files.push(FileSize {
            raw: bytes.len(),
            gzip: gzip(&path)?,
            brotli: brotli(&bytes),
            name,
        });
    }
    if !files.iter().any(|f| kind(&f.name) == "wasm") {
        return Err(format!(
            "no .wasm in {}: build the app first",
            dist.display()
        ));
    }
    files.sort_by_key(|f| std::cmp::Reverse(f.raw));
    let total = |f: fn(&FileSize) -> usize| files.iter().map(f).sum::<usize>();
    details.push_str("| file | raw | gzip -9 | brotli -q 11 |\n|---|---:|---:|---:|\n");
    for f in &files {
        details.push_str(&format!(
            "| `{}` ({}) | {} | {} | {} |\n",
            f.name,
            kind(&f.name),
            f.raw,
            f.gzip,
            f.brotli
        ));
    }
    let (raw, gz, br) = (total(|f| f.raw), total(|f| f.gzip), total(|f| f.brotli));
    details.push_str(&format!(
        "| **total** | **{raw}** | **{gz}** | **{br}** |\n\n"
    ));

    match rustc_wasm {
        Some(wasm) => match twiggy_report(wasm) {
            Ok(text) => details.push_str(&text),
            Err(e) => details.push_str(&format!("twiggy analysis skipped: {e}\n\n")),
        },
        None => details
            .push_str("twiggy analysis skipped: no wasm from rustc was given (--rustc-wasm).\n\n"),
    }

    Ok(Row::new(
        "1. Bundle (dist/ without IMserver.php)",
        format!(
            "{:.1} KB gzip ({:.1} KB raw, {:.1} KB brotli)",
            gz as f64 / 1000.0,
            raw as f64 / 1000.0,
            br as f64 / 1000.0
        ),
        format!("≤ {} KB gzip", GZIP_BUDGET / 1000),
        Some(gz <= GZIP_BUDGET),
    ))
}

fn tool(program: &str, args: &[&str]) -> Result<String> {
    let out = Command::new(program)
        .args(args)
        .output()
        .map_err(|e| format!("cannot run {program}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{program} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// wasm-bindgen + wasm-opt -Oz -g, then twiggy top, a per-crate sum and monos.
fn twiggy_report(rustc_wasm: &Path) -> Result<String> {
    let dir = TempDir::new("twiggy");
    let out_dir = dir.join("bindgen");
    let wasm = rustc_wasm.to_string_lossy();
    tool(
        "wasm-bindgen",
        &[
            "--target",
            "web",
            "--out-dir",
            &out_dir.to_string_lossy(),
            &wasm,
        ],
    )?;
    let bindgen_wasm = out_dir.join(format!(
        "{}_bg.wasm",
        rustc_wasm
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "bleep".into())
    ));
    let named = dir.join("named.wasm");
    let mut args = vec!["-Oz", "-g"];
    args.extend_from_slice(WASM_FEATURES);
    let bindgen_text = bindgen_wasm.to_string_lossy().into_owned();
    let named_text = named.to_string_lossy().into_owned();
    args.extend_from_slice(&[&bindgen_text, "-o", &named_text]);
    tool("wasm-opt", &args)?;

    let mut text = String::new();
    text.push_str(
        "twiggy, on the shipped code with its names kept (rustc's wasm → wasm-bindgen → `wasm-opt -Oz -g`):\n\n```text\n",
    );
    // Names of view types run to thousands of characters: keep their start.
    for line in tool("twiggy", &["top", "-n", "25", &named_text])?.lines() {
        let short: String = line.chars().take(160).collect();
        text.push_str(&short);
        if short.len() < line.len() {
            text.push('…');
        }
        text.push('\n');
    }
    text.push_str("```\n\n");

    // Everything but the name section, summed by the first path segment of
    // each item (a crate, or `<data>` for data segments).
    let csv = tool(
        "twiggy",
        &["top", "-n", "1000000", "-f", "csv", &named_text],
    )?;
    let mut by_crate: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut code_total = 0;
    for line in csv.lines().skip(1) {
        let Some((name, size)) = split_csv_name_size(line) else {
            continue;
        };
        if name.contains("\"function names\" subsection")
            || name.contains("\"data names\" subsection")
        {
            continue;
        }
        let owner = owner_of(&name);
        let slot = by_crate.entry(owner).or_default();
        slot.0 += size;
        slot.1 += 1;
        code_total += size;
    }
    let mut ranked: Vec<_> = by_crate.into_iter().collect();
    ranked.sort_by_key(|r| std::cmp::Reverse(r.1 .0));
    text.push_str(&format!(
        "Bytes of the wasm (names excluded, {code_total} B) by the first path segment of each item, top 15:\n\n| owner | bytes | share | items |\n|---|---:|---:|---:|\n"
    ));
    for (owner, (bytes, items)) in ranked.iter().take(15) {
        text.push_str(&format!(
            "| `{owner}` | {bytes} | {:.1}% | {items} |\n",
            100.0 * *bytes as f64 / code_total.max(1) as f64
        ));
    }
    text.push_str(
        "\n`twiggy monos` (generic functions and their instantiations), top 12:\n\n```text\n",
    );
    let monos =
        tool("twiggy", &["monos", "-m", "12", "-n", "2", &named_text]).unwrap_or_else(|e| e);
    for line in monos.lines() {
        text.push_str(&line.chars().take(170).collect::<String>());
        text.push('\n');
    }
    text.push_str("```\n\n");
    Ok(text)
}

/// `"name with, commas",123,...` → (name, 123).
fn split_csv_name_size(line: &str) -> Option<(String, usize)> {
    let (name, rest) = if let Some(stripped) = line.strip_prefix('"') {
        let mut name = String::new();
        let mut chars = stripped.char_indices().peekable();
        let mut end = None;
        while let Some((i, c)) = chars.next() {
            if c == '"' {
                if matches!(chars.peek(), Some((_, '"'))) {
                    name.push('"');
                    chars.next();
                } else {
                    end = Some(i + 1);
                    break;
                }
            } else {
                name.push(c);
            }
        }
        (name, &stripped[end?..])
    } else {
        let (name, rest) = line.split_once(',')?;
        (name.to_owned(), &line[name.len()..][..rest.len() + 1])
    };
    let size = rest
        .trim_start_matches(',')
        .split(',')
        .next()?
        .parse()
        .ok()?;
    Some((name, size))
}

fn owner_of(name: &str) -> String {
    if name.starts_with("data segment") || name.starts_with("data[") {
        return "<data>".into();
    }
    let trimmed = name
        .trim_start_matches(['<', '&', '*', ' '])
        .trim_start_matches("mut ")
        .trim_start_matches("dyn ");
    let ident: String = trimmed
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    match ident.as_str() {
        "" => name.chars().take(24).collect(),
        // `<T as tachys::…>`: the crate is the trait's.
        "T" | "F" | "V" | "S" => trimmed
            .split(" as ")
            .nth(1)
            .map(|t| {
                t.chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect()
            })
            .unwrap_or(ident),
        _ => ident,
    }
}
