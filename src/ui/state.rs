//! What the keys change, as plain data: the window feeds actions in and
//! carries out the effects that come back (full-screen, screenshot, quit...).
//! No winit or GPU here, so every key's meaning is unit-tested.

use super::keys::{Action, Direction, help_lines};
use crate::render::ViewState;

/// Something the window must do because of a key.
#[derive(Clone, Debug, PartialEq)]
pub enum Effect {
    /// Enter (true) or leave (false) borderless full-screen.
    SetFullscreen(bool),
    /// Save a screenshot of what is shown.
    Screenshot,
    /// Close the window and return.
    Quit,
    /// Multiply the feed's half-life by this factor.
    ScaleHalfLife(f64),
    /// Presenter mode started or the map changed: restart the auto-advance timer.
    RestartPresenterTimer,
    /// Presenter mode ended: stop the auto-advance timer.
    StopPresenterTimer,
    /// Say briefly what the key did: a mode change with no word on screen
    /// looks like the wall changed by itself.
    Toast(String),
}

/// The wall's view state between frames.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WallState {
    /// What the renderer is told (hover and notice are set per frame).
    pub view: ViewState,
    /// Whether the window is full-screen.
    pub fullscreen: bool,
    /// Whether the scan events list is shown (key E).
    pub events_list: bool,
}

impl WallState {
    /// Columns of the current layout for `tiles` maps, for Up / Down: the
    /// layout's own answer, so the arrows follow the grid on screen.
    fn columns(&self, tiles: usize) -> usize {
        crate::render::layout::grid_columns(self.view.layout, tiles)
    }

    /// Moves the focus by `delta` maps, wrapping around.
    fn step(&mut self, delta: isize, tiles: usize) {
        if tiles == 0 {
            return;
        }
        let n = tiles as isize;
        let f = (self.view.focus.min(tiles - 1)) as isize;
        self.view.focus = (f + delta).rem_euclid(n) as usize;
    }

    /// Presenter auto-advance: the next map.
    pub fn advance_presenter(&mut self, tiles: usize) {
        self.step(1, tiles);
    }

    /// Applies one key's action for a frame of `tiles` maps: the effects
    /// for the window, ending with a toast saying what changed (none for
    /// quit, a screenshot, which reports where it went, or blanking, whose
    /// screen must stay black).
    pub fn apply(&mut self, action: Action, digit: Option<usize>, tiles: usize) -> Vec<Effect> {
        let mut effects = self.change(action, digit, tiles);
        if let Some(t) = self.toast(action, tiles) {
            effects.push(Effect::Toast(t));
        }
        effects
    }

    /// The toast for `action`, said of the state it left.
    fn toast(&self, action: Action, tiles: usize) -> Option<String> {
        let v = &self.view;
        let on = |b: bool| if b { "on" } else { "off" };
        let map = || format!("map {} of {tiles}", v.focus.min(tiles.saturating_sub(1)) + 1);
        Some(match action {
            Action::Quit | Action::Screenshot => return None,
            Action::ToggleBlank if v.blank => return None,
            Action::ToggleBlank => "blank off".to_string(),
            Action::NextLayout => format!("layout: {}", v.layout),
            Action::FocusDigit | Action::MoveFocus(_) | Action::NextMap | Action::PreviousMap => {
                format!("focus: {}", map())
            }
            Action::ToggleFullscreen => format!("full-screen {}", on(self.fullscreen)),
            Action::ToggleFreeze => {
                if v.frozen {
                    "frozen (counting goes on)".to_string()
                } else {
                    "live".to_string()
                }
            }
            Action::HalfLifeLonger => "half-life doubled".to_string(),
            Action::HalfLifeShorter => "half-life halved".to_string(),
            Action::TogglePresenter => format!("presenter {}", on(v.presenter)),
            Action::NextScale => format!("scale: {}", v.scale),
            Action::ToggleChange => format!("view: {}", v.map_view),
            Action::ToggleOrder => format!("order: {}", v.order),
            Action::NextColourMap => format!("colour map: {}", v.colours),
            Action::ToggleHelp => format!("help {}", on(!v.help.is_empty())),
            Action::ToggleEvents => format!("event list {}", on(self.events_list)),
            Action::Escape => "back".to_string(),
        })
    }

    /// What `action` changes, and the effects it asks of the window.
    fn change(&mut self, action: Action, digit: Option<usize>, tiles: usize) -> Vec<Effect> {
        let v = &mut self.view;
        let presenter_step = |s: &WallState| {
            if s.view.presenter {
                vec![Effect::RestartPresenterTimer]
            } else {
                Vec::new()
            }
        };
        match action {
            Action::NextLayout => {
                v.layout = v.layout.next();
                Vec::new()
            }
            Action::FocusDigit => {
                if let Some(d) = digit.filter(|d| (1..=tiles).contains(d)) {
                    v.focus = d - 1;
                }
                presenter_step(self)
            }
            Action::MoveFocus(dir) => {
                let delta = if self.view.presenter {
                    match dir {
                        Direction::Left | Direction::Up => -1,
                        Direction::Right | Direction::Down => 1,
                    }
                } else {
                    let cols = self.columns(tiles) as isize;
                    match dir {
                        Direction::Left => -1,
                        Direction::Right => 1,
                        Direction::Up => -cols,
                        Direction::Down => cols,
                    }
                };
                self.step(delta, tiles);
                presenter_step(self)
            }
            Action::NextMap => {
                self.step(1, tiles);
                presenter_step(self)
            }
            Action::PreviousMap => {
                self.step(-1, tiles);
                presenter_step(self)
            }
            Action::ToggleFullscreen => {
                self.fullscreen = !self.fullscreen;
                vec![Effect::SetFullscreen(self.fullscreen)]
            }
            Action::ToggleFreeze => {
                v.frozen = !v.frozen;
                Vec::new()
            }
            Action::HalfLifeLonger => vec![Effect::ScaleHalfLife(2.0)],
            Action::HalfLifeShorter => vec![Effect::ScaleHalfLife(0.5)],
            Action::Screenshot => vec![Effect::Screenshot],
            Action::TogglePresenter => {
                v.presenter = !v.presenter;
                v.blank = false;
                if v.presenter {
                    vec![Effect::RestartPresenterTimer]
                } else {
                    vec![Effect::StopPresenterTimer]
                }
            }
            Action::NextScale => {
                v.scale = v.scale.next();
                Vec::new()
            }
            Action::ToggleChange => {
                v.map_view = v.map_view.next();
                Vec::new()
            }
            Action::ToggleOrder => {
                v.order = v.order.next();
                Vec::new()
            }
            Action::NextColourMap => {
                v.colours = v.colours.next();
                Vec::new()
            }
            Action::ToggleBlank => {
                v.blank = !v.blank;
                Vec::new()
            }
            Action::ToggleHelp => {
                v.help = if v.help.is_empty() {
                    help_lines()
                } else {
                    Vec::new()
                };
                Vec::new()
            }
            Action::ToggleEvents => {
                self.events_list = !self.events_list;
                Vec::new()
            }
            Action::Escape => {
                if !v.help.is_empty() {
                    v.help.clear();
                    Vec::new()
                } else if self.events_list {
                    self.events_list = false;
                    Vec::new()
                } else if v.blank {
                    v.blank = false;
                    Vec::new()
                } else if v.presenter {
                    v.presenter = false;
                    vec![Effect::StopPresenterTimer]
                } else if self.fullscreen {
                    self.fullscreen = false;
                    vec![Effect::SetFullscreen(false)]
                } else {
                    Vec::new()
                }
            }
            Action::Quit => vec![Effect::Quit],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue #21: every key that changes the picture says so in a toast.
    #[test]
    fn every_key_but_quit_screenshot_and_blank_says_what_it_did() {
        for b in crate::ui::keys::BINDINGS {
            let mut s = WallState::default();
            let effects = s.apply(b.action, Some(2), 6);
            let toast = effects.iter().find_map(|e| match e {
                Effect::Toast(t) => Some(t.clone()),
                _ => None,
            });
            match b.action {
                Action::Quit | Action::Screenshot | Action::ToggleBlank => {
                    assert_eq!(toast, None, "{:?}", b.action)
                }
                _ => assert!(toast.is_some_and(|t| !t.is_empty()), "{:?}", b.action),
            }
        }
        let mut s = WallState::default();
        let says = |s: &mut WallState, a| match s.apply(a, None, 6).pop() {
            Some(Effect::Toast(t)) => t,
            other => panic!("{other:?}"),
        };
        assert_eq!(says(&mut s, Action::NextScale), "scale: auto");
        assert_eq!(says(&mut s, Action::ToggleOrder), "order: hilbert");
        assert_eq!(says(&mut s, Action::NextColourMap), "colour map: viridis");
        assert_eq!(says(&mut s, Action::ToggleChange), "view: change");
        assert_eq!(says(&mut s, Action::NextLayout), "layout: grid-2x3");
        assert_eq!(says(&mut s, Action::NextMap), "focus: map 2 of 6");
        s.apply(Action::ToggleBlank, None, 6);
        assert_eq!(says(&mut s, Action::ToggleBlank), "blank off");
    }

    #[test]
    fn layouts_cycle_and_digits_pick_the_focus() {
        let mut s = WallState::default();
        let names: Vec<&str> = (0..4)
            .map(|_| {
                s.apply(Action::NextLayout, None, 6);
                s.view.layout.name()
            })
            .collect();
        assert_eq!(names, ["grid-2x3", "focus", "single", "grid-3x2"]);
        s.apply(Action::FocusDigit, Some(3), 6);
        assert_eq!(s.view.focus, 2);
        s.apply(Action::FocusDigit, Some(9), 6);
        assert_eq!(s.view.focus, 2, "digit beyond the maps is ignored");
    }

    #[test]
    fn arrows_move_by_cell_in_grids_and_wrap() {
        let mut s = WallState::default();
        s.apply(Action::MoveFocus(Direction::Down), None, 6);
        assert_eq!(s.view.focus, 3);
        s.apply(Action::MoveFocus(Direction::Right), None, 6);
        assert_eq!(s.view.focus, 4);
        s.apply(Action::MoveFocus(Direction::Down), None, 6);
        assert_eq!(s.view.focus, 1);
        s.apply(Action::MoveFocus(Direction::Left), None, 6);
        s.apply(Action::MoveFocus(Direction::Left), None, 6);
        assert_eq!(s.view.focus, 5);
    }

    /// The effects for the window other than the toast (which every key
    /// but a few now adds; `every_key_..._says_what_it_did` checks those).
    fn window(effects: Vec<Effect>) -> Vec<Effect> {
        effects
            .into_iter()
            .filter(|e| !matches!(e, Effect::Toast(_)))
            .collect()
    }

    #[test]
    fn presenter_steps_maps_and_restarts_its_timer() {
        let mut s = WallState::default();
        assert_eq!(
            window(s.apply(Action::TogglePresenter, None, 6)),
            [Effect::RestartPresenterTimer]
        );
        assert_eq!(
            window(s.apply(Action::NextMap, None, 6)),
            [Effect::RestartPresenterTimer]
        );
        s.apply(Action::MoveFocus(Direction::Down), None, 6);
        assert_eq!(s.view.focus, 2);
        s.apply(Action::PreviousMap, None, 6);
        s.advance_presenter(6);
        assert_eq!(s.view.focus, 2);
        s.apply(Action::ToggleBlank, None, 6);
        assert!(s.view.blank);
    }

    #[test]
    fn escape_leaves_overlay_blank_presenter_then_fullscreen() {
        let mut s = WallState::default();
        s.apply(Action::ToggleFullscreen, None, 6);
        s.apply(Action::TogglePresenter, None, 6);
        s.apply(Action::ToggleBlank, None, 6);
        s.apply(Action::ToggleHelp, None, 6);
        assert!(!s.view.help.is_empty());
        assert!(window(s.apply(Action::Escape, None, 6)).is_empty());
        assert!(s.view.help.is_empty() && s.view.blank);
        s.apply(Action::Escape, None, 6);
        assert!(!s.view.blank && s.view.presenter);
        assert_eq!(
            window(s.apply(Action::Escape, None, 6)),
            [Effect::StopPresenterTimer]
        );
        assert_eq!(
            window(s.apply(Action::Escape, None, 6)),
            [Effect::SetFullscreen(false)]
        );
        assert!(window(s.apply(Action::Escape, None, 6)).is_empty());
    }

    #[test]
    fn scale_change_order_and_colours_cycle() {
        use crate::render::{CellOrder, ColourMap, MapView, ScaleMode};
        let mut s = WallState::default();
        let scales: Vec<ScaleMode> = (0..4)
            .map(|_| {
                s.apply(Action::NextScale, None, 6);
                s.view.scale
            })
            .collect();
        assert_eq!(
            scales,
            [ScaleMode::Auto, ScaleMode::Log, ScaleMode::Rank, ScaleMode::Paper]
        );
        assert!(window(s.apply(Action::ToggleChange, None, 6)).is_empty());
        assert_eq!(s.view.map_view, MapView::Change);
        s.apply(Action::ToggleChange, None, 6);
        assert_eq!(s.view.map_view, MapView::Counts);
        s.apply(Action::ToggleOrder, None, 6);
        assert_eq!(s.view.order, CellOrder::Hilbert);
        s.apply(Action::NextColourMap, None, 6);
        assert_eq!(s.view.colours, ColourMap::Viridis);
    }

    #[test]
    fn freeze_half_life_screenshot_quit() {
        let mut s = WallState::default();
        s.apply(Action::ToggleFreeze, None, 6);
        assert!(s.view.frozen);
        assert_eq!(
            window(s.apply(Action::HalfLifeLonger, None, 6)),
            [Effect::ScaleHalfLife(2.0)]
        );
        assert_eq!(
            window(s.apply(Action::HalfLifeShorter, None, 6)),
            [Effect::ScaleHalfLife(0.5)]
        );
        assert_eq!(window(s.apply(Action::Screenshot, None, 6)), [Effect::Screenshot]);
        assert_eq!(window(s.apply(Action::Quit, None, 6)), [Effect::Quit]);
    }
}
