//! Every key the wall answers to, declared once: the window looks keys up
//! here and the help overlay prints this table, so they cannot disagree.

use winit::keyboard::{Key, NamedKey};

use crate::render::HelpLine;

/// What a key asks the wall to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Tab / L: next layout.
    NextLayout,
    /// 1-9: put map n (counted from 1) in focus.
    FocusDigit,
    /// Arrow keys: move the focus (step maps in presenter mode).
    MoveFocus(Direction),
    /// F / F11: borderless full-screen on or off.
    ToggleFullscreen,
    /// Space: freeze or unfreeze the picture (counting goes on).
    ToggleFreeze,
    /// +: longer half-life (slower decay).
    HalfLifeLonger,
    /// -: shorter half-life (faster decay).
    HalfLifeShorter,
    /// S: save a PNG of what is shown.
    Screenshot,
    /// P: presenter mode on or off.
    TogglePresenter,
    /// PageDown: next map (presentation clickers send this).
    NextMap,
    /// PageUp: previous map.
    PreviousMap,
    /// B: blank the screen.
    ToggleBlank,
    /// ? / H: show or hide the key table.
    ToggleHelp,
    /// E: show or hide the list of scan events.
    ToggleEvents,
    /// C: next colour scale mode (paper, auto, log, rank).
    NextScale,
    /// N: counts or change against the baseline.
    ToggleChange,
    /// K: row-major or Hilbert order for address maps.
    ToggleOrder,
    /// V: next colour map (paper, viridis, cividis, ylgnbu).
    NextColourMap,
    /// Esc: leave an overlay, blank, presenter mode or full-screen, in that order.
    Escape,
    /// Q: quit.
    Quit,
}

/// Direction of an arrow key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Arrow left.
    Left,
    /// Arrow right.
    Right,
    /// Arrow up.
    Up,
    /// Arrow down.
    Down,
}

/// A key that triggers a binding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trigger {
    /// A named key (Tab, F11, PageUp...).
    Named(NamedKey),
    /// A character, compared case-insensitively.
    Char(&'static str),
    /// Any digit 1-9.
    Digit,
}

/// One row of the key table.
#[derive(Clone, Copy, Debug)]
pub struct Binding {
    /// The keys as the help overlay prints them.
    pub keys: &'static str,
    /// The keys that trigger it.
    pub triggers: &'static [Trigger],
    /// What happens.
    pub action: Action,
    /// What the help overlay says it does.
    pub help: &'static str,
}

use Trigger::{Char, Digit, Named};

/// The key table.
pub const BINDINGS: &[Binding] = &[
    Binding {
        keys: "Tab / L",
        triggers: &[Named(NamedKey::Tab), Char("l")],
        action: Action::NextLayout,
        help: "next layout: grid 3x2, grid 2x3, focus, single",
    },
    Binding {
        keys: "1 - 9",
        triggers: &[Digit],
        action: Action::FocusDigit,
        help: "put that map in focus",
    },
    Binding {
        keys: "Left / Right",
        triggers: &[Named(NamedKey::ArrowLeft)],
        action: Action::MoveFocus(Direction::Left),
        help: "move the focus (previous / next map in presenter mode)",
    },
    Binding {
        keys: "",
        triggers: &[Named(NamedKey::ArrowRight)],
        action: Action::MoveFocus(Direction::Right),
        help: "",
    },
    Binding {
        keys: "Up / Down",
        triggers: &[Named(NamedKey::ArrowUp)],
        action: Action::MoveFocus(Direction::Up),
        help: "move the focus a row up / down",
    },
    Binding {
        keys: "",
        triggers: &[Named(NamedKey::ArrowDown)],
        action: Action::MoveFocus(Direction::Down),
        help: "",
    },
    Binding {
        keys: "F / F11",
        triggers: &[Char("f"), Named(NamedKey::F11)],
        action: Action::ToggleFullscreen,
        help: "full-screen on / off",
    },
    Binding {
        keys: "Space",
        triggers: &[Named(NamedKey::Space), Char(" ")],
        action: Action::ToggleFreeze,
        help: "freeze / unfreeze the picture (counting goes on)",
    },
    Binding {
        keys: "+",
        triggers: &[Char("+"), Char("=")],
        action: Action::HalfLifeLonger,
        help: "double the half-life (slower fading)",
    },
    Binding {
        keys: "-",
        triggers: &[Char("-")],
        action: Action::HalfLifeShorter,
        help: "halve the half-life (faster fading)",
    },
    Binding {
        keys: "S",
        triggers: &[Char("s")],
        action: Action::Screenshot,
        help: "save a screenshot (timestamped PNG)",
    },
    Binding {
        keys: "P",
        triggers: &[Char("p")],
        action: Action::TogglePresenter,
        help: "presenter mode: one map with its explanation",
    },
    Binding {
        keys: "PageDown / PageUp",
        triggers: &[Named(NamedKey::PageDown)],
        action: Action::NextMap,
        help: "next / previous map",
    },
    Binding {
        keys: "",
        triggers: &[Named(NamedKey::PageUp)],
        action: Action::PreviousMap,
        help: "",
    },
    Binding {
        keys: "C",
        triggers: &[Char("c")],
        action: Action::NextScale,
        help: "colour scale: paper, auto gain, log, rank (keeps scans readable when saturated)",
    },
    Binding {
        keys: "N",
        triggers: &[Char("n")],
        action: Action::ToggleChange,
        help: "change view: now against the slow baseline (warm = above, cool = below)",
    },
    Binding {
        keys: "K",
        triggers: &[Char("k")],
        action: Action::ToggleOrder,
        help: "address maps in Hilbert order (each /24 a square) or rows",
    },
    Binding {
        keys: "V",
        triggers: &[Char("v")],
        action: Action::NextColourMap,
        help: "colour map: paper, viridis, cividis, ylgnbu (the last two colour-blind safe)",
    },
    Binding {
        keys: "B",
        triggers: &[Char("b")],
        action: Action::ToggleBlank,
        help: "blank the screen",
    },
    Binding {
        keys: "E",
        triggers: &[Char("e")],
        action: Action::ToggleEvents,
        help: "show / hide the scan events list (each live event is outlined on its map)",
    },
    Binding {
        keys: "? / H",
        triggers: &[Char("?"), Char("h")],
        action: Action::ToggleHelp,
        help: "show / hide this help",
    },
    Binding {
        keys: "Esc",
        triggers: &[Named(NamedKey::Escape)],
        action: Action::Escape,
        help: "close help, unblank, leave presenter mode or full-screen",
    },
    Binding {
        keys: "Q",
        triggers: &[Char("q")],
        action: Action::Quit,
        help: "quit",
    },
];

/// The action for a pressed key and, for digits, the digit (1-9).
pub fn lookup(key: &Key) -> Option<(Action, Option<usize>)> {
    let digit = match key {
        Key::Character(s) => s
            .chars()
            .next()
            .filter(|c| s.chars().count() == 1 && ('1'..='9').contains(c))
            .and_then(|c| c.to_digit(10))
            .map(|d| d as usize),
        _ => None,
    };
    for b in BINDINGS {
        for t in b.triggers {
            let hit = match (t, key) {
                (Named(n), Key::Named(k)) => n == k,
                (Char(c), Key::Character(s)) => s.to_lowercase() == *c,
                (Digit, _) => digit.is_some(),
                _ => false,
            };
            if hit {
                return Some((b.action, if *t == Digit { digit } else { None }));
            }
        }
    }
    None
}

/// The help overlay's lines, straight from [`BINDINGS`].
pub fn help_lines() -> Vec<HelpLine> {
    BINDINGS
        .iter()
        .filter(|b| !b.keys.is_empty())
        .map(|b| HelpLine {
            keys: b.keys.to_owned(),
            action: b.help.to_owned(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ch(s: &str) -> Key {
        Key::Character(s.into())
    }

    #[test]
    fn keys_from_the_issue_are_bound() {
        let cases: &[(Key, Action)] = &[
            (Key::Named(NamedKey::Tab), Action::NextLayout),
            (ch("l"), Action::NextLayout),
            (ch("L"), Action::NextLayout),
            (Key::Named(NamedKey::F11), Action::ToggleFullscreen),
            (ch("f"), Action::ToggleFullscreen),
            (Key::Named(NamedKey::Space), Action::ToggleFreeze),
            (ch("+"), Action::HalfLifeLonger),
            (ch("-"), Action::HalfLifeShorter),
            (ch("s"), Action::Screenshot),
            (ch("p"), Action::TogglePresenter),
            (Key::Named(NamedKey::PageDown), Action::NextMap),
            (Key::Named(NamedKey::PageUp), Action::PreviousMap),
            (ch("b"), Action::ToggleBlank),
            (ch("?"), Action::ToggleHelp),
            (ch("h"), Action::ToggleHelp),
            (ch("e"), Action::ToggleEvents),
            (ch("q"), Action::Quit),
            (ch("c"), Action::NextScale),
            (ch("N"), Action::ToggleChange),
            (ch("k"), Action::ToggleOrder),
            (ch("v"), Action::NextColourMap),
            (Key::Named(NamedKey::Escape), Action::Escape),
            (
                Key::Named(NamedKey::ArrowDown),
                Action::MoveFocus(Direction::Down),
            ),
        ];
        for (key, action) in cases {
            assert_eq!(lookup(key).map(|(a, _)| a), Some(*action), "{key:?}");
        }
        assert_eq!(lookup(&ch("7")), Some((Action::FocusDigit, Some(7))));
        assert_eq!(lookup(&ch("0")), None);
        assert_eq!(lookup(&ch("z")), None);
    }

    #[test]
    fn no_key_is_bound_twice_and_help_lists_every_row() {
        let mut seen = Vec::new();
        for b in BINDINGS {
            for t in b.triggers {
                assert!(!seen.contains(t), "{t:?} bound twice");
                seen.push(*t);
            }
        }
        let help = help_lines();
        assert!(help.iter().any(|l| l.keys == "Tab / L"));
        assert!(help.iter().any(|l| l.keys == "Q" && l.action == "quit"));
        assert_eq!(help.len(), BINDINGS.iter().filter(|b| !b.keys.is_empty()).count());
    }
}
