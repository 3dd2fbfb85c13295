//! The chart of a results file: one horizontal bar per variant, its median
//! whole-process wall time split into what came before the import loop
//! (start-up, loading the floor's table), the import loop (timed inside the
//! process) and what came after (finalisation and exit), with the whole
//! process's min–max as a whisker and the ratio to the python3.11 reference
//! at the end of the bar.

use std::path::Path;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use serde_json::Value;

const ROWS: &[(&str, &str)] = &[
    ("pass-ours", "pass-py"),
    ("pass-py", "pass-py"),
    ("t0", "fs"),
    ("t1", "fs"),
    ("auto", "fs"),
    ("fs", "fs"),
    ("zip", "fs"),
    ("floor-py", "fs"),
    ("floor-ours", "fs"),
    ("fs-ours", "fs"),
    ("t0-noverify", "fs"),
    ("t1-noverify", "fs"),
];

const BEFORE: RGBColor = RGBColor(0xa6, 0xbd, 0xd7);
const LOOP: RGBColor = RGBColor(0x1f, 0x5f, 0x9f);
const AFTER: RGBColor = RGBColor(0xe0, 0x8a, 0x3c);

/// Draws `results` (as written by `perf-report run`) to `svg`.
pub fn draw(results: &Value, svg: &Path) -> Result<(), String> {
    draw_inner(results, svg).map_err(|e| format!("cannot draw {}: {e}", svg.display()))
}

fn draw_inner(results: &Value, svg: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let get = |id: &str, metric: &str, key: &str| {
        results["variants"][id][metric][key]
            .as_f64()
            .unwrap_or(f64::NAN)
    };
    let rows: Vec<_> = ROWS
        .iter()
        .filter(|(id, _)| results["variants"][*id].is_object())
        .collect();
    let xmax = rows
        .iter()
        .map(|(id, _)| get(id, "wall_ms", "max"))
        .filter(|x| x.is_finite())
        .fold(1.0, f64::max)
        * 1.18;
    let height = 110 + 34 * rows.len() as u32;
    let root = SVGBackend::new(svg, (1000, height)).into_drawing_area();
    root.fill(&WHITE)?;
    let meta = &results["meta"];
    let caption = format!(
        "import-all of {} stdlib modules and -c pass, whole process, median of {} rounds",
        meta["modules"], meta["rounds"]
    );
    let mut chart = ChartBuilder::on(&root)
        .caption(caption, ("sans-serif", 17))
        .margin(12)
        .margin_left(300)
        .x_label_area_size(36)
        .build_cartesian_2d(0f64..xmax, 0f64..rows.len() as f64)?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(0)
        .x_desc("milliseconds (wall)")
        .x_label_formatter(&|x| format!("{x:.0}"))
        .light_line_style(WHITE)
        .label_style(("sans-serif", 13))
        .draw()?;

    let y = |i: usize| (rows.len() - 1 - i) as f64;
    let mut segments: [Vec<(f64, f64, f64)>; 3] = Default::default();
    for (i, (id, _)) in rows.iter().enumerate() {
        let wall = get(id, "wall_ms", "median");
        let lp = get(id, "loop_wall_ms", "median");
        let fin = get(id, "finalise_ms", "median");
        if lp.is_finite() && fin.is_finite() {
            let before = (wall - lp - fin).max(0.0);
            segments[0].push((0.0, before, y(i)));
            segments[1].push((before, before + lp, y(i)));
            segments[2].push((before + lp, before + lp + fin, y(i)));
        } else {
            segments[0].push((0.0, wall, y(i)));
        }
    }
    let names = [
        "before the import loop (start-up, setup)",
        "import loop (timed in-process)",
        "after the script (finalisation, exit)",
    ];
    for ((part, color), name) in segments.iter().zip([BEFORE, LOOP, AFTER]).zip(names) {
        chart
            .draw_series(part.iter().map(|&(x0, x1, yy)| {
                Rectangle::new([(x0, yy + 0.18), (x1, yy + 0.82)], color.filled())
            }))?
            .label(name)
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 14, y + 5)], color.filled()));
    }
    // Whiskers: the whole process's min and max.
    chart.draw_series(rows.iter().enumerate().map(|(i, (id, _))| {
        let yy = y(i) + 0.5;
        PathElement::new(
            vec![
                (get(id, "wall_ms", "min"), yy),
                (get(id, "wall_ms", "max"), yy),
            ],
            BLACK.stroke_width(1),
        )
    }))?;
    let small = ("sans-serif", 12).into_font().color(&BLACK);
    for (i, (id, reference)) in rows.iter().enumerate() {
        let wall = get(id, "wall_ms", "median");
        let text = if id == reference {
            format!("{wall:.0} ms (reference)")
        } else {
            format!(
                "{wall:.0} ms, {:.2}×",
                wall / get(reference, "wall_ms", "median")
            )
        };
        let at = get(id, "wall_ms", "max").max(wall);
        chart.draw_series(std::iter::once(Text::new(
            text,
            (at + xmax * 0.01, y(i) + 0.5),
            small.pos(Pos::new(HPos::Left, VPos::Center)),
        )))?;
        let label = results["variants"][id]["label"].as_str().unwrap_or(id);
        let (px, py) = chart.backend_coord(&(0.0, y(i) + 0.5));
        root.draw(&Text::new(
            label.to_string(),
            (px - 8, py),
            ("sans-serif", 13)
                .into_font()
                .color(&BLACK)
                .pos(Pos::new(HPos::Right, VPos::Center)),
        ))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .label_font(("sans-serif", 12))
        .draw()?;
    root.present()?;
    Ok(())
}
