//! Scan events in the wall's words: which shown map each live event is
//! outlined on, its label, and the lines of the event list.

use crate::events::{BoardState, Event};
use crate::render::{EventMark, EventOverlay, TileInput};
use crate::utc::Utc;

/// Lines the event list holds at most.
const LIST_LINES: usize = 60;

/// The overlay for `tiles` from what the detector has found, at packet time
/// `now`: live events outlined (fastest first), the list latest first.
pub fn overlay(board: &BoardState, tiles: &[TileInput<'_>], now: u64) -> EventOverlay {
    overlay_of(&board.active, board.ended.iter(), tiles, now)
}

/// The overlay of the events live at packet time `at` among `events` (a
/// whole run's, for `snapshot --at`).
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
    overlay_of(&live, ended.into_iter(), tiles, at)
}

fn overlay_of<'a>(
    active: &[Event],
    ended: impl Iterator<Item = &'a Event>,
    tiles: &[TileInput<'_>],
    now: u64,
) -> EventOverlay {
    let mut live: Vec<&Event> = active.iter().collect();
    live.sort_by(|a, b| b.pps.total_cmp(&a.pps));
    let marks = live
        .iter()
        .filter_map(|e| {
            let name = crate::maps::MAPS[e.map].name;
            let tile = tiles.iter().position(|t| t.def.name == name)?;
            Some(EventMark {
                tile,
                rows: e.rows,
                columns: e.columns,
                label: e.short_label(now),
            })
        })
        .collect();
    let mut newest: Vec<&Event> = active.iter().collect();
    newest.sort_by_key(|e| std::cmp::Reverse(e.start));
    let list = newest
        .into_iter()
        .map(|e| format!("LIVE  {}  {}", clock(e.start), e.label(now)))
        .chain(ended.map(|e| format!("{}  {}", clock(e.start), e.label(now))))
        .take(LIST_LINES)
        .collect();
    EventOverlay {
        marks,
        list: Some(list),
    }
}

/// `HH:MM:SS` of a packet time, for the list and the pinned readout.
pub(crate) fn clock(ns: u64) -> String {
    let t = Utc::from_unix_secs(ns / 1_000_000_000);
    format!("{:02}:{:02}:{:02}", t.hour, t.minute, t.second)
}
