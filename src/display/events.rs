//! Scan events in the wall's words: which shown map each live event is
//! outlined on, its label, and the lines of the event list.

use crate::events::{BoardState, Event};
use crate::render::{EventMark, EventOverlay, TileInput};
use crate::utc::Utc;

/// Lines the event list holds at most.
const LIST_LINES: usize = 28;

/// Live events outlined per map (the busiest first), and of those labelled:
/// as the renderer draws them, so that no other label is worded.
const MARKS_PER_MAP: usize = 3;
const LABELS_PER_MAP: usize = 1;

/// The overlay for `tiles` from what the detector has found, at packet time
/// `now`: live events outlined (busiest first), the list latest first when
/// `with_list`. Only what is drawn is worded: a frame's CPU time is the
/// budget (a wall full of events has hundreds live).
pub fn overlay(board: &BoardState, tiles: &[TileInput<'_>], now: u64, with_list: bool) -> EventOverlay {
    overlay_of(&board.active, board.ended.iter(), tiles, now, with_list)
}

/// The overlay of the events live at packet time `at` among `events` (a
/// whole run's, for `snapshot --at`), with the list.
pub fn overlay_at(events: &[Event], tiles: &[TileInput<'_>], at: u64) -> EventOverlay {
    let live: Vec<Event> = events
        .iter()
        .filter(|e| e.start <= at && e.end.is_none_or(|end| end >= at))
        .cloned()
        .collect();
    let mut ended: Vec<&Event> = events
        .iter()
        .filter(|e| e.end.is_some_and(|end| end < at))
        .collect();
    ended.sort_by_key(|e| std::cmp::Reverse(e.end));
    overlay_of(&live, ended.into_iter(), tiles, at, true)
}

fn overlay_of<'a>(
    active: &[Event],
    ended: impl Iterator<Item = &'a Event>,
    tiles: &[TileInput<'_>],
    now: u64,
    with_list: bool,
) -> EventOverlay {
    let mut marks = Vec::new();
    for (tile, t) in tiles.iter().enumerate() {
        let mut here: Vec<&Event> = active
            .iter()
            .filter(|e| crate::maps::MAPS[e.map].name == t.def.name)
            .collect();
        here.sort_by(|a, b| b.pps.total_cmp(&a.pps));
        marks.extend(
            here.into_iter()
                .take(MARKS_PER_MAP)
                .enumerate()
                .map(|(n, e)| EventMark {
                    tile,
                    rows: e.rows,
                    columns: e.columns,
                    label: if n < LABELS_PER_MAP {
                        e.short_label(now)
                    } else {
                        String::new()
                    },
                }),
        );
    }
    let list = with_list.then(|| {
        let mut newest: Vec<&Event> = active.iter().collect();
        newest.sort_by_key(|e| std::cmp::Reverse(e.start));
        newest
            .into_iter()
            .map(|e| format!("LIVE  {}  {}", clock(e.start), e.label(now)))
            .chain(ended.map(|e| format!("{}  {}", clock(e.start), e.label(now))))
            .take(LIST_LINES)
            .collect()
    });
    EventOverlay { marks, list }
}

/// `HH:MM:SS` of a packet time, for the list and the pinned readout.
pub(crate) fn clock(ns: u64) -> String {
    let t = Utc::from_unix_secs(ns / 1_000_000_000);
    format!("{:02}:{:02}:{:02}", t.hour, t.minute, t.second)
}
