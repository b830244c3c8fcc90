//! The plot BENCHMARKS.md links: host cost (the tool's CPU plus what it adds to the workload's,
//! as a share of one core) against the exec rate reached, one line per tool.

use std::path::Path;

use anyhow::Context as _;
use plotters::prelude::*;

use super::{analysis, figures::Figures, load::LoadKind};

const COLOURS: [RGBColor; 4] = [
    RGBColor(0xd6, 0x27, 0x28),
    RGBColor(0x1f, 0x77, 0xb4),
    RGBColor(0x2c, 0xa0, 0x2c),
    RGBColor(0x94, 0x67, 0xbd),
];

/// (tool, points (exec/s, % of one core)) for every tool but the workload alone.
pub fn series(figures: &Figures) -> Vec<(String, Vec<(f64, f64)>)> {
    let mut series: Vec<(String, Vec<(f64, f64)>)> = Vec::new();
    for run in figures
        .runs
        .iter()
        .filter(|r| r.load.kind == LoadKind::Exec && r.tool != "none")
    {
        let Some(cost) = analysis::host_cost(&figures.runs, run) else {
            continue;
        };
        let point = (run.achieved_rate(), cost.percent_of_core);
        match series.iter_mut().find(|(tool, _)| *tool == run.tool) {
            Some((_, points)) => points.push(point),
            None => series.push((run.tool.clone(), vec![point])),
        }
    }
    for (_, points) in &mut series {
        points.sort_by(|a, b| a.0.total_cmp(&b.0));
    }
    series
}

pub fn write(figures: &Figures, path: &Path) -> anyhow::Result<()> {
    let series = series(figures);
    let points = series.iter().flat_map(|(_, p)| p.iter());
    let (max_rate, min_cost, max_cost) = points
        .fold((100.0f64, 0.0f64, 1.0f64), |(rate, low, high), (x, y)| {
            (rate.max(*x), low.min(*y), high.max(*y))
        });
    let root = SVGBackend::new(path, (900, 540)).into_drawing_area();
    root.fill(&WHITE).context("drawing the plot")?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "Host cost against exec rate (tool CPU + its kernel hooks)",
            ("sans-serif", 22),
        )
        .margin(16)
        .x_label_area_size(48)
        .y_label_area_size(64)
        .build_cartesian_2d(
            (10.0f64..max_rate * 1.3).log_scale(),
            // auditd's hooks are estimated from the workload's CPU, which can come out below zero.
            min_cost * 1.15..max_cost * 1.15,
        )
        .context("laying out the plot")?;
    chart
        .configure_mesh()
        .x_desc("execs per second reached (log scale)")
        .y_desc("host cost, % of one core")
        .draw()
        .context("drawing the axes")?;
    for (i, (tool, points)) in series.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        chart
            .draw_series(LineSeries::new(
                points.iter().copied(),
                colour.stroke_width(2),
            ))
            .context("drawing a line")?
            .label(tool.as_str())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(2))
            });
        chart
            .draw_series(points.iter().map(|p| Circle::new(*p, 4, colour.filled())))
            .context("drawing the points")?;
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperLeft)
        .draw()
        .context("drawing the legend")?;
    root.present().context("writing the plot")?;
    Ok(())
}
