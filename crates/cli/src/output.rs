//! Human output: aligned text tables, durations, ages and sizes; and the JSON printer.

use std::io::Write;

/// Display width of `s` in a terminal: East Asian wide characters (e.g. `币安人生USDT`) and
/// emoji take two columns. An approximation good enough to keep tables aligned.
pub fn width(s: &str) -> usize {
    s.chars()
        .map(|c| {
            let c = c as u32;
            let wide = matches!(c,
                0x1100..=0x115F | 0x2E80..=0x303E | 0x3041..=0x33FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF
                | 0xA000..=0xA4CF | 0xAC00..=0xD7A3 | 0xF900..=0xFAFF | 0xFE30..=0xFE4F | 0xFF00..=0xFF60
                | 0xFFE0..=0xFFE6 | 0x1F300..=0x1F64F | 0x1F900..=0x1F9FF | 0x20000..=0x3FFFD);
            if wide { 2 } else { 1 }
        })
        .sum()
}

/// Left-aligned columns separated by two spaces; the last column is not padded.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let cols = header.len();
    let mut widths: Vec<usize> = header.iter().map(|h| width(h)).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate().take(cols) {
            widths[i] = widths[i].max(width(cell));
        }
    }
    let mut out = String::new();
    let mut line = |cells: &mut dyn Iterator<Item = &str>| {
        let mut text = String::new();
        for (i, cell) in cells.enumerate() {
            if i > 0 {
                text.push_str("  ");
            }
            text.push_str(cell);
            if i + 1 < cols {
                text.push_str(&" ".repeat(widths[i].saturating_sub(width(cell))));
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(&mut header.iter().copied());
    for row in rows {
        line(&mut row.iter().map(String::as_str));
    }
    out
}

/// `850 ms`, `1.2 s`, `12 s`.
pub fn duration_ms(ms: u64) -> String {
    match ms {
        0..=999 => format!("{ms} ms"),
        1_000..=9_999 => format!("{:.1} s", ms as f64 / 1000.0),
        _ => format!("{} s", ms / 1000),
    }
}

/// An age in seconds: `42 s`, `3 min`, `2 h 5 min`, `3 d 4 h`.
pub fn age(secs: i64) -> String {
    let s = secs.max(0);
    match s {
        0..=119 => format!("{s} s"),
        120..=3_599 => format!("{} min", s / 60),
        3_600..=86_399 => format!("{} h {} min", s / 3600, (s % 3600) / 60),
        _ => format!("{} d {} h", s / 86_400, (s % 86_400) / 3600),
    }
}

/// `512 B`, `1.4 kB`, `2.1 MB`.
pub fn bytes(n: u64) -> String {
    match n {
        0..=999 => format!("{n} B"),
        1_000..=999_999 => format!("{:.1} kB", n as f64 / 1e3),
        _ => format!("{:.1} MB", n as f64 / 1e6),
    }
}

/// An optional cell: the value or `-`.
pub fn or_dash<T: ToString>(v: Option<T>) -> String {
    v.map_or_else(|| "-".to_string(), |v| v.to_string())
}

/// Writes `s` to stdout; a closed pipe (`symbols get spot | head`) is not an error.
pub fn print_stdout(s: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(s.as_bytes()).and_then(|()| out.flush());
}

/// Pretty JSON on stdout, newline-terminated.
pub fn print_json(v: &serde_json::Value) {
    let mut s = serde_json::to_string_pretty(v).unwrap_or_else(|_| "null".into());
    s.push('\n');
    print_stdout(&s);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_wide_characters() {
        let t = table(
            &["symbol", "status"],
            &[
                vec!["币安人生USDT".into(), "TRADING".into()],
                vec!["BTCUSDT".into(), "BREAK".into()],
            ],
        );
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines[0], "symbol        status");
        assert_eq!(lines[1], "币安人生USDT  TRADING");
        assert_eq!(lines[2], "BTCUSDT       BREAK");
    }

    #[test]
    fn human_units() {
        assert_eq!(duration_ms(850), "850 ms");
        assert_eq!(duration_ms(1234), "1.2 s");
        assert_eq!(duration_ms(61_000), "61 s");
        assert_eq!(age(42), "42 s");
        assert_eq!(age(600), "10 min");
        assert_eq!(age(7_500), "2 h 5 min");
        assert_eq!(age(3 * 86_400 + 4 * 3600), "3 d 4 h");
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(2_100_000), "2.1 MB");
        assert_eq!(or_dash(None::<u8>), "-");
    }
}
