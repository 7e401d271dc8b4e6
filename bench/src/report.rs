//! The summary table: one row per budget, measured against the limit.

/// One budget's outcome.
#[derive(Clone, Debug)]
pub struct Row {
    pub budget: String,
    pub measured: String,
    pub limit: String,
    /// `None` when the benchmark could not run.
    pub pass: Option<bool>,
}

impl Row {
    pub fn new(budget: &str, measured: String, limit: String, pass: Option<bool>) -> Row {
        Row {
            budget: budget.to_owned(),
            measured,
            limit,
            pass,
        }
    }

    pub fn failed_to_run(budget: &str, error: &str) -> Row {
        let short: String = error
            .lines()
            .next()
            .unwrap_or("")
            .chars()
            .take(110)
            .collect();
        Row::new(budget, format!("did not run: {short}"), "-".into(), None)
    }

    pub fn verdict(&self) -> &'static str {
        match self.pass {
            Some(true) => "pass",
            Some(false) => "FAIL",
            None => "ERROR",
        }
    }
}

/// A plain-text table for the terminal.
pub fn text_table(rows: &[Row]) -> String {
    let w0 = rows
        .iter()
        .map(|r| r.budget.chars().count())
        .max()
        .unwrap_or(6)
        .max(6);
    let w1 = rows
        .iter()
        .map(|r| r.measured.chars().count())
        .max()
        .unwrap_or(8)
        .max(8);
    let w2 = rows
        .iter()
        .map(|r| r.limit.chars().count())
        .max()
        .unwrap_or(6)
        .max(6);
    let pad = |s: &str, w: usize| format!("{s}{}", " ".repeat(w.saturating_sub(s.chars().count())));
    let mut out = format!(
        "{} | {} | {} | result\n",
        pad("budget", w0),
        pad("measured", w1),
        pad("budget", w2)
    );
    out.push_str(&format!(
        "{}-+-{}-+-{}-+-------\n",
        "-".repeat(w0),
        "-".repeat(w1),
        "-".repeat(w2)
    ));
    for r in rows {
        out.push_str(&format!(
            "{} | {} | {} | {}\n",
            pad(&r.budget, w0),
            pad(&r.measured, w1),
            pad(&r.limit, w2),
            r.verdict()
        ));
    }
    out
}

/// The same table in Markdown.
pub fn markdown_table(rows: &[Row]) -> String {
    let mut out = String::from("| budget | measured | limit | result |\n|---|---|---|---|\n");
    for r in rows {
        out.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            r.budget,
            r.measured,
            r.limit,
            r.verdict()
        ));
    }
    out
}
