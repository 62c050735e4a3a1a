//! BENCHMARKS.md and the `merge-frame` growth plot (an SVG drawn by hand: axes, grid, points, labels).

use crate::cases::{Case, Cell, Growth, Row, Verdict};
use crate::harness::{Stats, fmt_ms, thousands};

/// `1.52–1.65 ms`, or `820 ms–1.10 s` when the units differ.
fn fmt_range(lo: f64, hi: f64) -> String {
    let (a, b) = (fmt_ms(lo), fmt_ms(hi));
    match (a.rsplit_once(' '), b.rsplit_once(' ')) {
        (Some((x, u1)), Some((y, u2))) if u1 == u2 => format!("{x}–{y} {u1}"),
        _ => format!("{a}–{b}"),
    }
}

/// Facts about the run, shown at the top of the report.
pub struct Meta {
    /// `full` or `quick`.
    pub mode: &'static str,
    /// Key/value lines (date, machine, versions, fixture, run time…).
    pub facts: Vec<(String, String)>,
    /// The cases that ran.
    pub cases: Vec<&'static Case>,
    /// Where the plot is, relative to the report.
    pub svg_link: String,
    /// The pass the plot shows (its title), when there is more than one.
    pub svg_of: String,
}

/// One run of the whole suite, on the fixtures of one file system.
pub struct Pass {
    /// Which file system held the fixtures (`tmpfs on /dev/shm`).
    pub title: String,
    /// Facts of this pass: fixture, file system, load, run time.
    pub facts: Vec<(String, String)>,
    /// Its results.
    pub rows: Vec<Row>,
}

fn esc_md(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

fn cell(c: &Cell, cmd: &str) -> String {
    let body = match c {
        Cell::Time(s, note) => {
            let mut t = String::new();
            if s.n() > 0 {
                t = format!("**{}** [{}] n={}", fmt_ms(s.median()), fmt_range(s.lo(), s.hi()), s.n());
            }
            if let Some(n) = note {
                t += &format!("<br>{}", esc_md(n));
            }
            t
        }
        Cell::Text(t) => format!("**{}**", esc_md(t)),
        Cell::Missing(m) => format!("*not yet implemented: `{m}`*"),
        Cell::Nothing => "—".into(),
    };
    format!("`{}`<br>{body}", esc_md(cmd))
}

fn verdict(v: Verdict) -> &'static str {
    match v {
        Verdict::Met => "**met**",
        Verdict::Missed => "**missed**",
        Verdict::Pending => "pending",
        Verdict::Info => "",
    }
}

/// One results table and its targets' verdicts; `h` is the heading level of the verdicts.
fn results(s: &mut String, rows: &[Row], h: &str) {
    *s += "Each cell: the command timed, then the **median** and [p10–p90] over n runs (nearest rank, so with \
          fewer than 10 runs the bracket is min–max). A process is timed from spawn to exit with its output \
          captured. The ratio is git-neighbor's median over raw git's.\n\n";
    *s += "| case | git-neighbor | raw git | ratio | target | verdict |\n|---|---|---|---|---|---|\n";
    for r in rows {
        *s += &format!(
            "| {} | {} | {} | {} | {} | {} |\n",
            esc_md(&r.label),
            cell(&r.nb, &r.nb_cmd),
            cell(&r.raw, &r.raw_cmd),
            r.ratio.as_deref().unwrap_or(""),
            esc_md(&r.target),
            verdict(r.verdict)
        );
    }
    *s += &format!("\n{h} Targets\n\n");
    let with = |v: Verdict| rows.iter().filter(|r| r.verdict == v).collect::<Vec<_>>();
    let line = |r: &Row| match &r.nb {
        Cell::Time(st, _) if st.n() > 0 => format!("{} ({}, target {})", r.label, fmt_ms(st.median()), r.target),
        Cell::Text(t) => format!("{} ({t}, target {})", r.label, r.target),
        Cell::Missing(m) => format!("{} (target {}): not yet implemented: `{m}`", r.label, r.target),
        _ => format!("{} (target {})", r.label, r.target),
    };
    for (title, v) in [("Met", Verdict::Met), ("Missed", Verdict::Missed), ("Pending", Verdict::Pending)] {
        let list = with(v);
        *s += &format!("**{title}** ({}):\n", list.len());
        if list.is_empty() {
            *s += "- none\n";
        }
        for r in list {
            *s += &format!("- {}\n", line(r));
        }
        *s += "\n";
    }
}

/// The whole BENCHMARKS.md.
pub fn markdown(meta: &Meta, passes: &[Pass], notes: &str) -> String {
    let mut s = String::new();
    s += "# Benchmarks\n\n";
    s += "<!-- Written by the benchmark harness (bench/main.rs). Do not edit by hand: rerun it. -->\n\n";
    s += "git-neighbor against raw git, on the same generated repositories, in the same run, alternating which \
          side goes first. Regenerate this file with `cargo bench --bench neighbor` (about five minutes on two \
          cores per file system: `--tmp DIR` once for each, e.g. tmpfs and a disk); `cargo bench --bench \
          neighbor -- --quick --out DIR` is the one-minute smoke run CI does. Hand-written analysis is at the \
          end.\n\n";
    let many = passes.len() > 1;
    s += "## Run\n\n| | |\n|---|---|\n";
    for (k, v) in &meta.facts {
        s += &format!("| {k} | {} |\n", esc_md(v));
    }
    // With one pass its facts join the run's; with several, each results section starts with its own.
    if !many {
        for p in passes {
            for (k, v) in p.facts.iter().filter(|(k, _)| !k.starts_with("load") && k != "run time") {
                s += &format!("| {k} | {} |\n", esc_md(v));
            }
        }
    } else {
        let titles: Vec<&str> = passes.iter().map(|p| p.title.as_str()).collect();
        s += &format!(
            "\nThe whole suite ran {}, one after the other, each with fresh fixtures: on {}.\n",
            if passes.len() == 2 { "twice".to_string() } else { format!("{} times", passes.len()) },
            titles.join("; then on ")
        );
    }
    for p in passes {
        s += &if many { format!("\n## Results: {}\n\n", p.title) } else { "\n## Results\n\n".to_string() };
        if many {
            s += "| | |\n|---|---|\n";
            for (k, v) in &p.facts {
                s += &format!("| {k} | {} |\n", esc_md(v));
            }
            s += "\n";
        }
        results(&mut s, &p.rows, if many { "###" } else { "##" });
    }
    if meta.mode == "quick" {
        s += "This is a `--quick` run: smaller fixtures and fewer runs. Its figures are not the published ones.\n\n";
    }
    s += "## `merge-frame` growth\n\n";
    if many {
        s += &format!("From the run on {}.\n\n", meta.svg_of);
    }
    s += &format!("![merge-frame growth curve]({})\n\n", meta.svg_link);
    s += "## What each case measures\n\n";
    for c in &meta.cases {
        let needs = c.needs.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ");
        s +=
            &format!("- **{}** (needs {needs}): {}\n", c.id, c.method.split_whitespace().collect::<Vec<_>>().join(" "));
    }
    s += "\nEvery process runs with a pinned environment: `HOME` and `GIT_CONFIG_GLOBAL` in the temp dir (user \
          name and email, `gc.auto=0` and `maintenance.auto=false` so no background gc lands in a \
          measurement), `GIT_CONFIG_NOSYSTEM=1`, `LC_ALL=C`, `TZ=UTC`, and the binary under test first on \
          `PATH`. The fixtures are deleted at the end.\n\n";
    s += "## Analysis\n\n";
    s += notes.trim();
    s += "\n";
    s
}

fn esc_xml(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

fn label_count(n: f64) -> String {
    thousands(n.round() as usize)
}

fn label_ms(ms: f64) -> String {
    if ms >= 1000.0 { format!("{} s", ms / 1000.0) } else { format!("{ms} ms") }
}

/// A plotted series: legend label, colour, points (deltas, times).
type Series<'a> = (&'a str, &'a str, &'a [(usize, Stats)]);

/// The growth plot: time per frame against deltas per frame, both axes logarithmic.
pub fn svg(g: &Growth) -> String {
    let (w, h) = (760.0, 500.0);
    let (left, right, top, bottom) = (84.0, 76.0, 96.0, 56.0);
    let (pw, ph) = (w - left - right, h - top - bottom);
    let nb_label = match &g.missing {
        Some(m) => format!("git-neighbor merge-frame (not yet implemented: {m})"),
        None => "git-neighbor merge-frame".to_string(),
    };
    let series: [Series; 2] =
        [(&nb_label, "#1f6fb4", &g.nb), ("one git commit of the same change, by hand", "#d9661a", &g.raw)];
    let ok = |v: &f64| v.is_finite() && *v > 0.0;
    let xs = g.sizes.iter().map(|n| *n as f64).chain(series.iter().flat_map(|s| s.2.iter().map(|p| p.0 as f64)));
    let ys = series.iter().flat_map(|s| s.2.iter().flat_map(|p| [p.1.lo(), p.1.hi(), p.1.median()]));
    let (x0, x1) = decades(xs.filter(ok), 1.0, 4.0);
    // A little headroom so no point sits on the frame.
    let (y0, y1) = decades(ys.filter(ok).flat_map(|v| [v / 1.15, v * 1.15]), 0.0, 3.0);
    let px = |v: f64| left + (v.log10() - x0) / (x1 - x0) * pw;
    let py = |v: f64| top + ph - (v.log10() - y0) / (y1 - y0) * ph;
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" \
         font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"{w}\" height=\"{h}\" fill=\"white\"/>\n\
         <clipPath id=\"plot\"><rect x=\"{left}\" y=\"{top}\" width=\"{pw}\" height=\"{ph}\"/></clipPath>\n"
    );
    s += &format!(
        "<text x=\"{left}\" y=\"26\" font-size=\"15\" font-weight=\"bold\">merge-frame: time per frame against \
         deltas in the frame (log–log)</text>\n"
    );
    // Legend: one line per series under the title.
    let lx = left;
    for (i, (label, color, _)) in series.iter().enumerate() {
        let ly = 48.0 + 16.0 * i as f64;
        s += &marker(i, lx + 4.0, ly - 4.0, color);
        s += &format!("<text x=\"{}\" y=\"{ly}\">{}</text>\n", lx + 14.0, esc_xml(label));
    }
    s += &format!(
        "<line x1=\"{}\" y1=\"{y}\" x2=\"{}\" y2=\"{y}\" stroke=\"#888\" stroke-dasharray=\"4 3\"/>\n\
         <text x=\"{}\" y=\"{}\">linear growth (time ∝ deltas), through the first point</text>\n",
        lx - 2.0,
        lx + 10.0,
        lx + 14.0,
        48.0 + 32.0,
        y = 48.0 + 32.0 - 4.0
    );
    // Grid: every decade labelled; 2× and 5× too when the axis spans few decades.
    let minor = |span: f64| if span <= 2.0 { vec![1.0, 2.0, 5.0] } else { vec![1.0] };
    for k in (x0 as i32)..=(x1 as i32) {
        for m in minor(x1 - x0) {
            let v = m * 10f64.powi(k);
            if v.log10() > x1 + 1e-9 {
                continue;
            }
            let x = px(v);
            s += &format!("<line x1=\"{x:.1}\" y1=\"{top}\" x2=\"{x:.1}\" y2=\"{}\" stroke=\"#e3e3e3\"/>\n", top + ph);
            s += &format!(
                "<text x=\"{x:.1}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n",
                top + ph + 18.0,
                label_count(v)
            );
        }
    }
    for k in (y0 as i32)..=(y1 as i32) {
        for m in minor(y1 - y0) {
            let v = m * 10f64.powi(k);
            if v.log10() > y1 + 1e-9 {
                continue;
            }
            let y = py(v);
            s +=
                &format!("<line x1=\"{left}\" y1=\"{y:.1}\" x2=\"{}\" y2=\"{y:.1}\" stroke=\"#e3e3e3\"/>\n", left + pw);
            s += &format!(
                "<text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>\n",
                left - 8.0,
                y + 4.0,
                label_ms(v)
            );
        }
    }
    s += &format!(
        "<rect x=\"{left}\" y=\"{top}\" width=\"{pw}\" height=\"{ph}\" fill=\"none\" stroke=\"#333\"/>\n\
         <text x=\"{}\" y=\"{}\" text-anchor=\"middle\">deltas in the frame</text>\n\
         <text transform=\"translate(22 {}) rotate(-90)\" text-anchor=\"middle\">time per frame (median; bars: \
         p10–p90)</text>\n",
        left + pw / 2.0,
        h - 14.0,
        top + ph / 2.0
    );
    // Linear reference (slope 1 in log–log) through the first point of the first series that has one.
    if let Some((n, t)) = series.iter().find_map(|s| s.2.first()).map(|(n, t)| (*n as f64, t.median())) {
        let (a, b) = (10f64.powf(x0), 10f64.powf(x1));
        s += &format!(
            "<line clip-path=\"url(#plot)\" x1=\"{:.1}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\" stroke=\"#888\" \
             stroke-dasharray=\"5 4\"/>\n",
            px(a),
            py(t * a / n),
            px(b),
            py(t * b / n)
        );
    }
    for (i, (_, color, pts)) in series.iter().enumerate() {
        let path: Vec<String> =
            pts.iter().map(|(n, t)| format!("{:.1},{:.1}", px(*n as f64), py(t.median()))).collect();
        if path.len() > 1 {
            s += &format!(
                "<polyline points=\"{}\" fill=\"none\" stroke=\"{color}\" stroke-width=\"2\"/>\n",
                path.join(" ")
            );
        }
        for (n, t) in pts.iter() {
            let (x, y) = (px(*n as f64), py(t.median()));
            let (ylo, yhi) = (py(t.lo()), py(t.hi()));
            s += &format!(
                "<path d=\"M{x:.1} {ylo:.1}V{yhi:.1}M{:.1} {ylo:.1}h8M{:.1} {yhi:.1}h8\" stroke=\"{color}\"/>\n",
                x - 4.0,
                x - 4.0
            );
            s += &marker(i, x, y, color);
            // Label above the point, unless the other series is higher here: then below, out of its way.
            let other = series[1 - i].2.iter().find(|(m, _)| m == n).map(|(_, o)| o.median());
            let below = other.is_some_and(|o| o > t.median()) || (other.is_none() && i == 1);
            s += &format!(
                "<text x=\"{:.1}\" y=\"{:.1}\" fill=\"{color}\" font-size=\"11\">{}</text>\n",
                x + 8.0,
                if below { y + 16.0 } else { y - 8.0 },
                esc_xml(&fmt_ms(t.median()))
            );
        }
    }
    if let Some(m) = &g.missing {
        s += &format!(
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"14\" fill=\"#1f6fb4\">git-neighbor side: not \
             yet implemented: {}</text>\n",
            left + pw / 2.0,
            top + 28.0,
            esc_xml(m)
        );
    }
    s += "</svg>\n";
    s
}

/// A circle for the first series, a square for the second.
fn marker(series: usize, x: f64, y: f64, color: &str) -> String {
    if series == 0 {
        format!("<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"4.5\" fill=\"{color}\"/>\n")
    } else {
        format!("<rect x=\"{:.1}\" y=\"{:.1}\" width=\"8\" height=\"8\" fill=\"{color}\"/>\n", x - 4.0, y - 4.0)
    }
}

/// The whole decades spanning `vals` (log10), or the defaults when there are none.
fn decades(vals: impl Iterator<Item = f64>, lo: f64, hi: f64) -> (f64, f64) {
    let (mut a, mut b) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in vals {
        a = a.min(v.log10());
        b = b.max(v.log10());
    }
    if !a.is_finite() {
        return (lo, hi);
    }
    let (a, b) = (a.floor(), b.ceil());
    (a, if b > a { b } else { a + 1.0 })
}
