//! The portfolio's trend: open findings per day, replayed from the team's finding events
//! (`finding.new` opens one, `finding.resolved` closes one), drawn as a small inline SVG.

use chrono::NaiveDate;
use rampart_store::FindingEvent;

/// Open findings at the end of each day that had events, oldest first.
pub fn open_by_day(events: &[FindingEvent]) -> Vec<(NaiveDate, i64)> {
    let mut days: Vec<(NaiveDate, i64)> = Vec::new();
    let mut open = 0i64;
    for event in events {
        match event.kind.as_str() {
            "finding.new" => open += 1,
            "finding.resolved" => open -= 1,
            _ => continue,
        }
        let day = event.created_at.date_naive();
        match days.last_mut() {
            Some((last, count)) if *last == day => *count = open,
            _ => days.push((day, open)),
        }
    }
    days
}

/// The chart's geometry: a polyline's `points` in a `width`×`height` box (y grows
/// downwards), the series scaled to the box; one point is drawn as a flat line.
pub fn polyline(series: &[(NaiveDate, i64)], width: f64, height: f64) -> String {
    let max = series.iter().map(|(_, v)| *v).max().unwrap_or(0).max(1) as f64;
    let y = |value: i64| height - (value as f64 / max) * height;
    match series {
        [] => String::new(),
        [(_, only)] => format!("0,{0:.1} {width:.1},{0:.1}", y(*only)),
        _ => {
            let step = width / (series.len() - 1) as f64;
            series
                .iter()
                .enumerate()
                .map(|(i, (_, value))| format!("{:.1},{:.1}", i as f64 * step, y(*value)))
                .collect::<Vec<_>>()
                .join(" ")
        }
    }
}

/// A step chart's `points` for values that hold until the next change (EPSS history): x by
/// date from the first day (left) to the last (right), y scaled to the highest value (top);
/// one point is a flat line.
pub fn step_polyline(series: &[(NaiveDate, f64)], width: f64, height: f64) -> String {
    let max = series.iter().map(|(_, v)| *v).fold(0.0_f64, f64::max);
    let max = if max > 0.0 { max } else { 1.0 };
    let y = |value: f64| height - (value / max) * height;
    let (Some((first, _)), Some((last, _))) = (series.first(), series.last()) else {
        return String::new();
    };
    let span = (*last - *first).num_days().max(1) as f64;
    let x = |day: &NaiveDate| (*day - *first).num_days() as f64 / span * width;
    if series.len() == 1 {
        return format!("0.0,{0:.1} {width:.1},{0:.1}", y(series[0].1));
    }
    let mut points = vec![format!("0.0,{:.1}", y(series[0].1))];
    for pair in series.windows(2) {
        let ((_, before), (day, value)) = (pair[0], pair[1]);
        points.push(format!("{:.1},{:.1}", x(&day), y(before)));
        points.push(format!("{:.1},{:.1}", x(&day), y(value)));
    }
    points.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn event(id: i64, kind: &str, day: u32) -> FindingEvent {
        FindingEvent {
            id,
            kind: kind.to_string(),
            release_id: 1,
            sbom_id: 1,
            finding_id: id,
            analysis_id: 1,
            created_at: Utc.with_ymd_and_hms(2026, 11, day, 12, 0, 0).unwrap(),
        }
    }

    #[test]
    fn events_replay_into_daily_open_counts() {
        let events = [
            event(1, "finding.new", 1),
            event(2, "finding.new", 1),
            event(3, "finding.new", 3),
            event(4, "finding.resolved", 3),
            event(5, "finding.resolved", 4),
            event(6, "something.else", 5),
        ];
        let days = open_by_day(&events);
        let counts: Vec<i64> = days.iter().map(|(_, c)| *c).collect();
        assert_eq!(counts, [2, 2, 1]);
        assert_eq!(days[0].0, NaiveDate::from_ymd_opt(2026, 11, 1).unwrap());
        assert!(open_by_day(&[]).is_empty());
    }

    #[test]
    fn steps_hold_each_value_until_its_change_by_date() {
        let day = |d: u32| NaiveDate::from_ymd_opt(2026, 11, d).unwrap();
        let series = [(day(1), 0.5), (day(3), 1.0), (day(5), 0.25)];
        assert_eq!(
            step_polyline(&series, 100.0, 40.0),
            "0.0,20.0 50.0,20.0 50.0,0.0 100.0,0.0 100.0,30.0"
        );
        assert_eq!(
            step_polyline(&[(day(1), 0.0)], 100.0, 40.0),
            "0.0,40.0 100.0,40.0"
        );
        assert_eq!(step_polyline(&[], 100.0, 40.0), "");
    }

    #[test]
    fn the_polyline_spans_the_box_with_the_maximum_at_the_top() {
        let day = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
        let series = [(day, 0), (day, 4), (day, 2)];
        assert_eq!(
            polyline(&series, 100.0, 40.0),
            "0.0,40.0 50.0,0.0 100.0,20.0"
        );
        assert_eq!(polyline(&[(day, 3)], 100.0, 40.0), "0,0.0 100.0,0.0");
        assert_eq!(polyline(&[], 100.0, 40.0), "");
    }
}
