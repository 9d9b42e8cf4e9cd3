//! A hand-written SVG chart: per instance class, each algorithm's share of instances at the
//! best known value (light bar) and proven optimal by its own bound (solid bar inside it;
//! top panel), and its mean gap to the best known (bottom panel).

use std::fmt::Write;

use crate::report::summarize;
use crate::runner::Record;

const PALETTE: [&str; 12] = [
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
    "#9c755f", "#bab0ac", "#1b9e77", "#7570b3",
];

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Renders the chart for `records` as an SVG document.
pub fn render_svg(records: &[Record]) -> String {
    let summaries = summarize(records);
    let mut classes: Vec<String> = Vec::new();
    let mut algorithms: Vec<String> = Vec::new();
    for r in records {
        if !classes.contains(&r.class) {
            classes.push(r.class.clone());
        }
        if !algorithms.contains(&r.algorithm) {
            algorithms.push(r.algorithm.clone());
        }
    }
    classes.sort();
    let group = (algorithms.len() as f64 * 12.0 + 16.0).max(60.0);
    let left = 70.0;
    let width = left + group * classes.len() as f64 + 190.0;
    let panel = 220.0;
    let (top1, top2) = (50.0, 50.0 + panel + 90.0);
    let height = top2 + panel + 100.0;
    let max_gap = summaries
        .values()
        .map(|s| s.mean_gap_percent())
        .fold(0.0f64, f64::max)
        .max(0.5);
    let gap_scale = nice_ceiling(max_gap);
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0}" height="{height:.0}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(svg, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let panels = [
        (
            top1,
            "Instances at best known (light) and proven optimal (solid), %",
            100.0,
        ),
        (top2, "Mean gap to best known (% bins)", gap_scale),
    ];
    for (p, (top, title, scale)) in panels.iter().enumerate() {
        let _ = writeln!(
            svg,
            r#"<text x="{left}" y="{:.0}" font-size="15" font-weight="bold">{title}</text>"#,
            top - 18.0
        );
        for tick in 0..=4 {
            let value = scale * f64::from(tick) / 4.0;
            let y = top + panel - panel * f64::from(tick) / 4.0;
            let _ = writeln!(
                svg,
                r##"<line x1="{left}" x2="{:.0}" y1="{y:.1}" y2="{y:.1}" stroke="#ddd"/><text x="{:.0}" y="{:.1}" text-anchor="end">{}</text>"##,
                width - 190.0,
                left - 6.0,
                y + 4.0,
                trim(value)
            );
        }
        for (c, class) in classes.iter().enumerate() {
            let x0 = left + group * c as f64 + 8.0;
            for (a, algorithm) in algorithms.iter().enumerate() {
                let Some(s) = summaries.get(&(class.clone(), algorithm.clone())) else {
                    continue;
                };
                let bars = if p == 0 {
                    vec![
                        (s.at_best_known_percent(), "0.35", "at best known"),
                        (s.proven_percent(), "1", "proven"),
                    ]
                } else {
                    vec![(s.mean_gap_percent(), "1", "mean gap")]
                };
                for (value, opacity, what) in bars {
                    let h = (value / scale).clamp(0.0, 1.0) * panel;
                    let _ = writeln!(
                        svg,
                        r#"<rect x="{:.1}" y="{:.1}" width="10" height="{h:.1}" fill="{}" fill-opacity="{opacity}"><title>{} / {}: {what} {value:.2}</title></rect>"#,
                        x0 + 12.0 * a as f64,
                        top + panel - h,
                        PALETTE[a % PALETTE.len()],
                        escape(class),
                        escape(algorithm)
                    );
                }
            }
            let label_x = x0 + group / 2.0 - 8.0;
            let label_y = top + panel + 14.0;
            let _ = writeln!(
                svg,
                r#"<text x="{label_x:.1}" y="{label_y:.1}" text-anchor="end" transform="rotate(-35 {label_x:.1} {label_y:.1})">{}</text>"#,
                escape(class)
            );
        }
        let _ = writeln!(
            svg,
            r#"<line x1="{left}" x2="{left}" y1="{top}" y2="{:.0}" stroke="black"/><line x1="{left}" x2="{:.0}" y1="{:.0}" y2="{:.0}" stroke="black"/>"#,
            top + panel,
            width - 190.0,
            top + panel,
            top + panel
        );
    }
    for (a, algorithm) in algorithms.iter().enumerate() {
        let y = top1 + 16.0 * a as f64;
        let x = width - 175.0;
        let _ = writeln!(
            svg,
            r#"<rect x="{x:.0}" y="{:.0}" width="12" height="12" fill="{}"/><text x="{:.0}" y="{:.0}">{}</text>"#,
            y,
            PALETTE[a % PALETTE.len()],
            x + 18.0,
            y + 10.0,
            escape(algorithm)
        );
    }
    svg.push_str("</svg>\n");
    svg
}

/// A round axis maximum at or above `value`.
fn nice_ceiling(value: f64) -> f64 {
    let steps = [
        0.5, 1.0, 2.0, 2.5, 5.0, 10.0, 20.0, 25.0, 50.0, 100.0, 200.0, 500.0,
    ];
    steps
        .into_iter()
        .find(|&s| s >= value)
        .unwrap_or(value.ceil())
}

fn trim(value: f64) -> String {
    let text = format!("{value:.2}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}
