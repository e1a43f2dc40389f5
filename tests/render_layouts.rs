//! Offscreen pixels on lavapipe: each layout puts each map where the layout
//! math says, the legend and status line are drawn, overlays appear.

mod support;

use scanwall::render::colour::PAPER_SCALE;
use scanwall::render::{
    CellOrder, ColourMap, HelpLine, Hover, LayoutKind, MapView, Rect, RgbaImage, ScaleMode, ViewState,
    WallGrid,
};
use support::*;

/// Tile i filled with stop i+1 (blue, cyan, yellow, red, magenta, purple).
fn distinct_tiles(n: usize) -> Vec<Vec<f32>> {
    (0..n).map(|i| filled(PAPER_SCALE[1 + i % 6].value)).collect()
}

fn tile_colour(i: usize) -> [u8; 3] {
    PAPER_SCALE[1 + i % 6].rgb
}

/// Pixels of exactly `c` outside every footer strip.
fn count_outside(img: &RgbaImage, c: [u8; 3], skip: &[Rect]) -> i64 {
    let mut n = 0;
    for y in 0..img.height as i32 {
        for x in 0..img.width as i32 {
            if skip.iter().any(|r| r.contains(x, y)) {
                continue;
            }
            if rgb(img, x, y) == c {
                n += 1;
            }
        }
    }
    n
}

/// Renders six distinct tiles with `view` and checks that each shown map
/// covers exactly its slot and nothing else has its colour.
fn check_placement(view: ViewState, w: u32, h: u32, name: &str) -> RgbaImage {
    let gpu = gpu();
    let mut r = renderer(&gpu);
    let values = distinct_tiles(6);
    let img = r
        .render_to_image(&gpu, &frame(tiles(&values), view.clone()), w, h)
        .expect("render");
    save(&img, name);
    let arr = view.arrange(6, w, h);
    let footers: Vec<Rect> = arr.footers.iter().map(|f| f.area).collect();
    for slot in &arr.slots {
        let want = tile_colour(slot.tile);
        let m = slot.map;
        for (x, y) in [
            (m.x, m.y),
            (m.right() - 1, m.y),
            (m.x, m.bottom() - 1),
            (m.right() - 1, m.bottom() - 1),
            (m.x + m.w / 2, m.y + m.h / 2),
        ] {
            assert_eq!(rgb(&img, x, y), want, "{name}: tile {} at ({x},{y})", slot.tile);
        }
        // Just outside the map is not the map's colour (ticks or background).
        assert_ne!(rgb(&img, m.x - 1, m.y + m.h / 2 + 3), want);
        assert_ne!(rgb(&img, m.right(), m.y + m.h / 2 + 3), want);
        let area = i64::from(m.w) * i64::from(m.h);
        assert_eq!(
            count_outside(&img, want, &footers),
            area,
            "{name}: tile {}",
            slot.tile
        );
    }
    for t in 0..6 {
        if !arr.slots.iter().any(|s| s.tile == t) {
            assert_eq!(
                count_outside(&img, tile_colour(t), &footers),
                0,
                "{name}: hidden tile {t} drawn"
            );
        }
    }
    img
}

#[test]
fn grid_layouts_place_every_map_in_its_slot() {
    for layout in [LayoutKind::Grid3x2, LayoutKind::Grid2x3] {
        let view = ViewState {
            layout,
            ..ViewState::default()
        };
        check_placement(view.clone(), 1920, 1080, &format!("layout-{layout}"));
        let arr = view.arrange(6, 1920, 1080);
        let xs: Vec<i32> = arr.slots.iter().map(|s| s.map.x).collect();
        let cols = if layout == LayoutKind::Grid3x2 { 3 } else { 2 };
        // Row-major: the first `cols` maps share a row, left to right.
        assert!(xs[..cols].windows(2).all(|p| p[0] < p[1]));
        assert!(arr.slots[cols].map.y > arr.slots[0].map.y);
    }
}

/// The maps' staging memory is reused from frame to frame (one belt chunk
/// a frame, two in the change view): every frame shows its own values in
/// every tile, in row and curve order, never a layer left from before.
#[test]
fn each_frame_shows_its_own_values_while_staging_is_reused() {
    let gpu = gpu();
    let mut r = renderer(&gpu);
    let (w, h) = (1920, 1080);
    for k in 0..8 {
        let values: Vec<Vec<f32>> = (0..6)
            .map(|i| filled(PAPER_SCALE[1 + (i + k) % 6].value))
            .collect();
        let mut tiles = tiles(&values);
        let order = if k % 2 == 1 {
            CellOrder::Hilbert
        } else {
            CellOrder::Row
        };
        if k == 3 {
            // Twelve layers: the maps and their baselines.
            for t in &mut tiles {
                t.baseline = Some(t.values);
            }
            let view = ViewState {
                map_view: MapView::Change,
                order,
                ..ViewState::default()
            };
            r.render_to_image(&gpu, &frame(tiles, view), w, h)
                .expect("render");
            continue;
        }
        let view = ViewState {
            order,
            ..ViewState::default()
        };
        let img = r
            .render_to_image(&gpu, &frame(tiles, view.clone()), w, h)
            .expect("render");
        for slot in &view.arrange(6, w, h).slots {
            let (m, want) = (slot.map, tile_colour(slot.tile + k));
            for (x, y) in [
                (m.x, m.y),
                (m.right() - 1, m.bottom() - 1),
                (m.x + m.w / 2, m.y + m.h / 2),
            ] {
                assert_eq!(
                    rgb(&img, x, y),
                    want,
                    "frame {k}: tile {} at ({x},{y})",
                    slot.tile
                );
            }
        }
    }
}

/// Text layers whose items are unchanged are kept from the frame before, not
/// prepared again: across a run of frames in which the rates, the status line,
/// the legend's numbers and the overlays change (and past the atlas trims
/// every 64 frames), each frame is the same, byte for byte, as a fresh
/// renderer draws it.
#[test]
fn kept_text_is_what_a_fresh_renderer_draws() {
    let gpu = gpu();
    let mut r = renderer(&gpu);
    let (w, h) = (960, 540);
    let values = distinct_tiles(6);
    for k in 0..140u32 {
        let mut tiles = tiles(&values);
        // The rates change on a few frames, the status line every 10th.
        for (i, t) in tiles.iter_mut().enumerate() {
            t.rate_pps = f64::from(1000 * (i as u32 + 1) + (k / 7) * 3);
        }
        let mut view = ViewState::default();
        if (20..30).contains(&k) {
            view.help = vec![HelpLine {
                keys: "H".into(),
                action: format!("help, frame {}", k / 5),
            }];
        }
        if (40..60).contains(&k) {
            view.scale = scanwall::render::ScaleMode::Auto;
        }
        if (60..66).contains(&k) {
            view.frozen = true;
        }
        let mut f = frame(tiles, view);
        f.status.packets_per_sec = f64::from(30_000 + (k / 10) * 17);
        let img = r.render_to_image(&gpu, &f, w, h).expect("render");
        // Checked where a layer was kept and where it changed, and after trims.
        if [0, 5, 6, 7, 21, 25, 30, 31, 45, 61, 66, 70, 127, 128, 129, 139].contains(&k) {
            let fresh = renderer(&gpu).render_to_image(&gpu, &f, w, h).expect("render");
            if img.pixels != fresh.pixels {
                save(&img, "kept-text");
                save(&fresh, "kept-text-fresh");
                panic!("frame {k}: kept text differs from a fresh renderer's (see kept-text*.png)");
            }
        }
    }
}

#[test]
fn focus_layout_shows_the_focus_map_large() {
    let view = ViewState {
        layout: LayoutKind::Focus,
        focus: 3,
        ..ViewState::default()
    };
    check_placement(view.clone(), 1920, 1080, "layout-focus");
    let arr = view.arrange(6, 1920, 1080);
    assert_eq!(arr.slots[0].tile, 3);
    assert!(arr.slots[0].map.w >= 2 * arr.slots[1].map.w);
}

#[test]
fn single_layout_shows_only_the_focus_map() {
    let view = ViewState {
        layout: LayoutKind::Single,
        focus: 5,
        ..ViewState::default()
    };
    check_placement(view.clone(), 1920, 1080, "layout-single");
    assert_eq!(view.arrange(6, 1920, 1080).slots.len(), 1);
}

#[test]
fn wall_grid_puts_each_map_on_its_own_monitor() {
    let wall: WallGrid = "3x2".parse().expect("grid");
    let view = ViewState {
        layout: LayoutKind::Grid3x2,
        wall: Some(wall),
        ..ViewState::default()
    };
    check_placement(view.clone(), 1920, 1080, "layout-wall-3x2");
    let arr = view.arrange(6, 1920, 1080);
    for (m, slot) in arr.slots.iter().enumerate() {
        assert!(wall.monitor(arr.screen, m).encloses(&slot.region));
    }
}

#[test]
fn presenter_shows_one_map_its_caption_and_the_legend() {
    let view = ViewState {
        presenter: true,
        focus: 1,
        ..ViewState::default()
    };
    let img = check_placement(view.clone(), 1920, 1080, "presenter");
    let arr = view.arrange(6, 1920, 1080);
    assert_eq!(arr.slots.len(), 1);
    let cap = arr.caption.expect("caption area");
    assert!(bright_pixels(&img, cap) > 2000, "caption text missing");
    assert_legend(&img, arr.footers[0].area);
}

#[test]
fn blank_is_black_everywhere() {
    let gpu = gpu();
    let mut r = renderer(&gpu);
    let values = distinct_tiles(6);
    let view = ViewState {
        blank: true,
        ..ViewState::default()
    };
    let img = r
        .render_to_image(&gpu, &frame(tiles(&values), view), 640, 360)
        .expect("render");
    assert!(img.pixels.chunks_exact(4).all(|p| p == [0, 0, 0, 255]));
}

/// Pixels in `area` much brighter than the background: drawn text.
fn bright_pixels(img: &RgbaImage, area: Rect) -> usize {
    let mut n = 0;
    for y in area.y..area.bottom() {
        for x in area.x..area.right() {
            let [r, g, b] = rgb(img, x, y);
            if u16::from(r) + u16::from(g) + u16::from(b) > 400 {
                n += 1;
            }
        }
    }
    n
}

/// Finds a solid square (at least 8 x 8) of exactly `c` inside `area`;
/// returns its left edge.
fn find_swatch(img: &RgbaImage, area: Rect, c: [u8; 3]) -> Option<i32> {
    for y in area.y..area.bottom() - 8 {
        for x in area.x..area.right() - 8 {
            if (0..8).all(|dy| (0..8).all(|dx| rgb(img, x + dx, y + dy) == c)) {
                return Some(x);
            }
        }
    }
    None
}

/// Every stop's swatch is in the strip, left to right in scale order.
fn assert_legend(img: &RgbaImage, area: Rect) {
    let xs: Vec<i32> = PAPER_SCALE
        .iter()
        .map(|s| {
            find_swatch(img, area, s.rgb)
                .unwrap_or_else(|| panic!("no swatch for stop {} in {area:?}", s.label))
        })
        .collect();
    assert!(
        xs.windows(2).all(|p| p[0] < p[1]),
        "swatches out of order: {xs:?}"
    );
}

#[test]
fn legend_status_and_badges_are_drawn() {
    let gpu = gpu();
    let mut r = renderer(&gpu);
    let values = distinct_tiles(6);
    let view = ViewState {
        frozen: true,
        ..ViewState::default()
    };
    let mut f = frame(tiles(&values), view.clone());
    f.status.stalled = true;
    let img = r.render_to_image(&gpu, &f, 1920, 1080).expect("render");
    save(&img, "legend-status");
    let arr = view.arrange(6, 1920, 1080);
    let footer = arr.footers[0];
    assert!(footer.status);
    assert_legend(&img, footer.area);
    // Badges: DEMO orange, STALLED red, FROZEN blue, each a solid block.
    for badge in [[214, 110, 0], [190, 30, 30], [40, 95, 200]] {
        assert!(
            find_swatch(&img, footer.area, badge).is_some(),
            "badge {badge:?} missing"
        );
    }
    assert!(bright_pixels(&img, footer.area) > 1500, "status text missing");
    // Titles and labels above each map.
    for s in &arr.slots {
        let band = Rect::new(s.region.x, s.region.y, s.region.w, s.map.y - s.region.y);
        assert!(bright_pixels(&img, band) > 300, "tile {} has no title", s.tile);
    }
    // Without demo, stall or freeze there are no badges.
    let calm = frame(tiles(&values), ViewState::default());
    let mut calm = calm;
    calm.status = status(false);
    let img = r.render_to_image(&gpu, &calm, 1920, 1080).expect("render");
    for badge in [[214, 110, 0], [190, 30, 30], [40, 95, 200]] {
        assert!(
            find_swatch(&img, footer.area, badge).is_none(),
            "badge {badge:?} shown"
        );
    }
}

#[test]
fn help_overlay_and_hover_readout_are_drawn_on_top() {
    let gpu = gpu();
    let mut r = renderer(&gpu);
    let values = distinct_tiles(6);
    let arr = ViewState::default().arrange(6, 1920, 1080);
    let slot = arr.slots[1];
    let cell = slot.cell_rect(37, 200);
    let view = ViewState {
        help: vec![
            HelpLine {
                keys: "Tab / L".into(),
                action: "cycle layouts".into(),
            },
            HelpLine {
                keys: "Q".into(),
                action: "quit".into(),
            },
        ],
        hover: Some(Hover {
            x: cell.x,
            y: cell.y,
            text: "x.x.37.200\nvalue 8.0".into(),
        }),
        ..ViewState::default()
    };
    let img = r
        .render_to_image(&gpu, &frame(tiles(&values), view), 1920, 1080)
        .expect("render");
    save(&img, "overlays");
    // Hover: the cell itself keeps its colour, an outline surrounds it.
    assert_eq!(rgb(&img, cell.x, cell.y), tile_colour(1));
    assert_eq!(rgb(&img, cell.x, cell.y - 2), [255, 40, 140]);
    assert_eq!(rgb(&img, cell.right() + 1, cell.y), [255, 40, 140]);
    // Help: a dark panel in the middle of the screen with text on it.
    let centre = Rect::new(760, 480, 400, 120);
    let [r0, g0, b0] = rgb(&img, 960, 540);
    assert!(u16::from(r0) + u16::from(g0) + u16::from(b0) < 120, "no panel");
    assert!(bright_pixels(&img, centre) > 100, "no help text");
}

#[test]
fn render_offscreen_writes_a_png_and_rejects_empty_sizes() {
    let values = distinct_tiles(2);
    let f = frame(tiles(&values), ViewState::default());
    assert!(matches!(
        scanwall::render::render_offscreen(&f, 0, 10),
        Err(scanwall::render::RenderError::Empty(0, 10))
    ));
    let img = scanwall::render::render_offscreen(&f, 800, 450).expect("render");
    assert_eq!((img.width, img.height), (800, 450));
    let path = save(&img, "offscreen-small");
    assert_eq!(RgbaImage::read_png(&path).expect("read back"), img);
    let arr = ViewState::default().arrange(2, 800, 450);
    let m = arr.slots[1].map;
    assert_eq!(rgb(&img, m.x + m.w / 2, m.y + m.h / 2), tile_colour(1));
}

/// Isolated marked cells: one per row and one per column (column 7 x row,
/// mod 256), no two within 3 cells of each other, so a lost row or column
/// always takes a mark with it.
fn marked_cells() -> Vec<(usize, usize)> {
    (0..256).map(|r| (r, (r * 7) % 256)).collect()
}

/// Issue #21: a map drawn smaller than 256 pixels must still show every
/// cell (several cells to a pixel show the largest), in every layout at
/// every common screen size. On the old shader, which sampled one cell per
/// pixel, 14 rows and columns vanished from the small focus tiles.
#[test]
fn every_marked_cell_is_visible_in_every_layout_and_size() {
    let gpu = gpu();
    let mut r = renderer(&gpu);
    let mark = PAPER_SCALE[PAPER_SCALE.len() - 1];
    let mut values = filled(0.0);
    for (row, col) in marked_cells() {
        *at(&mut values, row, col) = mark.value;
    }
    let maps: Vec<Vec<f32>> = (0..6).map(|_| values.clone()).collect();
    for (w, h) in [(1280, 720), (1600, 900), (1920, 1080), (3840, 2160)] {
        for presenter in [false, true] {
            for layout in LayoutKind::ALL {
                if presenter && layout != LayoutKind::Grid3x2 {
                    continue;
                }
                let view = ViewState {
                    layout,
                    presenter,
                    ..ViewState::default()
                };
                let name = if presenter {
                    "presenter".to_string()
                } else {
                    layout.to_string()
                };
                let img = r
                    .render_to_image(&gpu, &frame(tiles(&maps), view.clone()), w, h)
                    .expect("render");
                let arr = view.arrange(6, w, h);
                assert!(!arr.slots.is_empty());
                let mut missing = Vec::new();
                for slot in &arr.slots {
                    let m = slot.map;
                    // The pixels cell c overlaps along a side of m.w pixels.
                    let span = |c: usize, origin: i32| -> (i32, i32) {
                        let c = c as i64;
                        let len = i64::from(m.w);
                        let first = (c * len) / 256;
                        let last = (((c + 1) * len + 255) / 256 - 1).max(first);
                        (origin + first as i32, origin + last as i32)
                    };
                    for &(row, col) in &marked_cells() {
                        let (x0, x1) = span(col, m.x);
                        let (y0, y1) = span(row, m.y);
                        let seen = (y0..=y1).any(|y| (x0..=x1).any(|x| rgb(&img, x, y) == mark.rgb));
                        if !seen {
                            missing.push((slot.tile, m.w, row, col));
                        }
                    }
                }
                if !missing.is_empty() {
                    save(&img, &format!("lost-cells-{name}-{w}x{h}"));
                }
                assert!(
                    missing.is_empty(),
                    "{name} at {w}x{h}: {} marked cells not drawn (tile, side, row, col): {:?}",
                    missing.len(),
                    &missing[..missing.len().min(8)]
                );
            }
        }
    }
}

/// Issue #21: at 1920x1080 in grid-3x2 the six maps used to fill 19 % of the
/// screen (256 px maps) under 15 px titles, unreadable from 4 m. Now the maps
/// take the room (well over 400 px each, over 45 % of the screen) and a
/// title's letters stand about 3 % of the screen height tall (measured in
/// the pixels: rows holding the title's bright text).
#[test]
fn maps_fill_the_1080p_screen_under_titles_read_from_across_the_room() {
    let (w, h) = (1920u32, 1080u32);
    let gpu = gpu();
    let mut r = renderer(&gpu);
    let values = distinct_tiles(6);
    let view = ViewState::default();
    let img = r
        .render_to_image(&gpu, &frame(tiles(&values), view.clone()), w, h)
        .expect("render");
    save(&img, "fill-1080p");
    let arr = view.arrange(6, w, h);
    let area: i64 = arr
        .slots
        .iter()
        .map(|s| i64::from(s.map.w) * i64::from(s.map.h))
        .sum();
    let share = area as f64 / (f64::from(w) * f64::from(h));
    assert!(share > 0.45, "maps fill {:.0} % of the screen", share * 100.0);
    for s in &arr.slots {
        assert!(s.map.w > 400, "{s:?}");
    }
    // Tile 1 (not in focus): the title's rows, from the top of its region to
    // the column labels above the map, left of the rate.
    let s = arr.slots[1];
    let bottom = s.map.y - s.metrics.tick - s.metrics.label_h;
    let bright = |x: i32, y: i32| rgb(&img, x, y).iter().all(|&c| c > 200);
    let rows: Vec<i32> = (s.region.y..bottom)
        .filter(|&y| (s.region.x..s.region.x + s.region.w * 2 / 3).any(|x| bright(x, y)))
        .collect();
    let tall = rows.last().zip(rows.first()).map_or(0, |(b, t)| b - t + 1);
    assert!(
        f64::from(tall) >= 0.02 * f64::from(h),
        "title letters {tall} px tall, want about 3 % of {h}"
    );
}

/// Issue #21: a view other than the default carries a badge for each part
/// that differs (scale, view, order, colour map) for as long as it does, and
/// the map in focus in a grid is marked by a blue bar, not a yellow title that
/// reads as a warning.
#[test]
fn non_default_views_carry_badges_and_focus_is_not_a_warning() {
    const MODE_BADGE: [u8; 3] = [0, 105, 115];
    const FOCUS_MARK: [u8; 3] = [80, 160, 255];
    const WARNING_YELLOW: [u8; 3] = [255, 214, 90];
    let gpu = gpu();
    let mut r = renderer(&gpu);
    let values = distinct_tiles(6);
    let plain = ViewState {
        focus: 1,
        ..ViewState::default()
    };
    let img = r
        .render_to_image(&gpu, &frame(tiles(&values), plain.clone()), 1920, 1080)
        .expect("render");
    save(&img, "focus-mark");
    let arr = plain.arrange(6, 1920, 1080);
    assert!(
        find_swatch(&img, arr.footers[0].area, MODE_BADGE).is_none(),
        "badge on the default view"
    );
    for s in &arr.slots {
        let band = Rect::new(s.region.x, s.region.y, s.region.w, s.map.y - s.region.y);
        let yellow = (band.y..band.bottom())
            .flat_map(|y| (band.x..band.right()).map(move |x| (x, y)))
            .filter(|&(x, y)| rgb(&img, x, y) == WARNING_YELLOW)
            .count();
        assert_eq!(yellow, 0, "tile {}: a yellow title", s.tile);
        let bar =
            (band.y..band.bottom()).any(|y| (s.map.x..s.map.x + 8).all(|x| rgb(&img, x, y) == FOCUS_MARK));
        assert_eq!(bar, s.tile == 1, "tile {}: focus bar", s.tile);
    }
    for view in [
        ViewState {
            scale: ScaleMode::Auto,
            ..ViewState::default()
        },
        ViewState {
            order: CellOrder::Hilbert,
            ..ViewState::default()
        },
        ViewState {
            colours: ColourMap::Viridis,
            ..ViewState::default()
        },
    ] {
        let img = r
            .render_to_image(&gpu, &frame(tiles(&values), view.clone()), 1920, 1080)
            .expect("render");
        let footer = view.arrange(6, 1920, 1080).footers[0].area;
        assert!(
            find_swatch(&img, footer, MODE_BADGE).is_some(),
            "no badge for {view:?}"
        );
    }
}

/// Issue #21: presenter mode shows the DEMO badge (it had no status line, so
/// an audience could take synthetic traffic for real), and a replay that has
/// ended carries an END badge saying how long ago, on the status line and in
/// presenter mode.
#[test]
fn demo_and_end_badges_show_in_every_mode() {
    const DEMO_BADGE: [u8; 3] = [214, 110, 0];
    const END_BADGE: [u8; 3] = [125, 60, 170];
    let gpu = gpu();
    let mut r = renderer(&gpu);
    let values = distinct_tiles(6);
    for presenter in [false, true] {
        let view = ViewState {
            presenter,
            ..ViewState::default()
        };
        let screen = Rect::new(0, 0, 1920, 1080);
        let demo = frame(tiles(&values), view.clone());
        let img = r.render_to_image(&gpu, &demo, 1920, 1080).expect("render");
        save(&img, &format!("badges-demo-presenter-{presenter}"));
        assert!(
            find_swatch(&img, screen, DEMO_BADGE).is_some(),
            "presenter {presenter}: no DEMO badge"
        );
        assert!(
            find_swatch(&img, screen, END_BADGE).is_none(),
            "presenter {presenter}: END while running"
        );
        let mut ended = frame(tiles(&values), view.clone());
        ended.status = status(false);
        ended.status.ended_secs = Some(75.0);
        let img = r.render_to_image(&gpu, &ended, 1920, 1080).expect("render");
        save(&img, &format!("badges-end-presenter-{presenter}"));
        assert!(
            find_swatch(&img, screen, END_BADGE).is_some(),
            "presenter {presenter}: no END badge"
        );
        assert!(
            find_swatch(&img, screen, DEMO_BADGE).is_none(),
            "presenter {presenter}: DEMO on a file"
        );
    }
}

/// Issue #21, in the change view: where pixels pool cells, the pixel shows
/// the cell that changed most either way, so a drop (cool) is not hidden by
/// steady neighbours that happen to hold more packets.
#[test]
fn pooled_maps_keep_every_changed_cell_in_the_change_view() {
    let gpu = gpu();
    let mut r = renderer(&gpu);
    let now = filled(1.0);
    let mut base = filled(1.0);
    let mut current = now.clone();
    for (row, col) in marked_cells() {
        *at(&mut current, row, col) = 0.0;
        *at(&mut base, row, col) = 100.0;
    }
    let scale = scanwall::render::MapScale {
        short_rate: 1.0,
        baseline_rate: 1.0,
        ..Default::default()
    };
    let maps: Vec<Vec<f32>> = (0..6).map(|_| current.clone()).collect();
    let mut tiles = tiles(&maps);
    for t in &mut tiles {
        t.baseline = Some(&base);
        t.scale = Some(&scale);
    }
    let view = ViewState {
        layout: LayoutKind::Focus,
        map_view: MapView::Change,
        ..ViewState::default()
    };
    let (w, h) = (1280, 720);
    let img = r
        .render_to_image(&gpu, &frame(tiles, view.clone()), w, h)
        .expect("render");
    save(&img, "pooled-change");
    // Far below the baseline: the coolest colour of the diverging scale.
    let coolest = scanwall::render::colour::DIVERGING_SCALE[0].rgb;
    let arr = view.arrange(6, w, h);
    let small: Vec<_> = arr.slots.iter().filter(|s| s.map.w < 256).collect();
    assert!(!small.is_empty(), "no pooled map at {w}x{h}");
    for slot in small {
        let m = slot.map;
        let span = |c: usize, origin: i32| -> (i32, i32) {
            let (c, len) = (c as i64, i64::from(m.w));
            let first = c * len / 256;
            let last = (((c + 1) * len + 255) / 256 - 1).max(first);
            (origin + first as i32, origin + last as i32)
        };
        for (row, col) in marked_cells() {
            let (x0, x1) = span(col, m.x);
            let (y0, y1) = span(row, m.y);
            let seen = (y0..=y1).any(|y| (x0..=x1).any(|x| rgb(&img, x, y) == coolest));
            assert!(
                seen,
                "tile {} ({} px): changed cell ({row},{col}) hidden",
                slot.tile, m.w
            );
        }
    }
}

/// Runs of columns in `strip` holding text (brighter than the background),
/// split where at least `gap` columns hold none: one run per label.
fn text_runs(img: &RgbaImage, strip: Rect, gap: i32) -> Vec<(i32, i32)> {
    let inked = |x: i32| {
        (strip.y..strip.bottom()).any(|y| {
            let [r, g, b] = rgb(img, x, y);
            u16::from(r) + u16::from(g) + u16::from(b) > 250
        })
    };
    let mut runs: Vec<(i32, i32)> = Vec::new();
    for x in strip.x..strip.right() {
        if !inked(x) {
            continue;
        }
        match runs.last_mut() {
            Some(last) if x - last.1 <= gap => last.1 = x,
            _ => runs.push((x, x)),
        }
    }
    runs
}

/// Issue #21: at 1600x900 in focus layout the small maps' column labels ran
/// together ("128160192224"). Every label now stands apart: no run of text
/// above a map is wider than one three-digit number, and runs are at least
/// an em apart, at every size (at 1280x720 they were 4 pixels apart).
#[test]
fn column_labels_never_run_together() {
    let gpu = gpu();
    let mut r = renderer(&gpu);
    let values: Vec<Vec<f32>> = (0..6).map(|_| filled(0.0)).collect();
    for (w, h) in [(1280, 720), (1600, 900), (1920, 1080), (3840, 2160)] {
        for layout in [LayoutKind::Focus, LayoutKind::Grid3x2, LayoutKind::Grid2x3] {
            let view = ViewState {
                layout,
                ..ViewState::default()
            };
            let img = r
                .render_to_image(&gpu, &frame(tiles(&values), view.clone()), w, h)
                .expect("render");
            let name = format!("column-labels-{layout}-{w}x{h}");
            save(&img, &name);
            for slot in &view.arrange(6, w, h).slots {
                let (m, f) = (slot.map, slot.metrics.font_px);
                let line = (f * 1.25).ceil() as i32;
                let strip = Rect::new(
                    m.x - f as i32,
                    m.y - slot.metrics.tick - line,
                    m.w + 2 * f as i32,
                    line - 1,
                );
                let gap = f.ceil() as i32;
                let runs = text_runs(&img, strip, gap);
                assert!(runs.len() >= 4, "{name}: tile {}: {runs:?}", slot.tile);
                for (a, b) in &runs {
                    assert!(
                        (b - a) as f32 <= f * 2.3,
                        "{name}: tile {}: labels run together over {a}..{b} (font {f})",
                        slot.tile
                    );
                }
            }
        }
    }
}

/// Issue #21: labels said nothing of what is known. With `--local
/// 123.56.104.0/24` the address maps mark the local /24's row, the port map
/// the well-known ports (rows 0-3) and the length map the 1500-byte cell
/// (its row and its column); every map has a grey frame, so a map saturated
/// to its darkest colour does not merge with the background.
#[test]
fn known_rows_are_marked_and_every_map_is_framed() {
    const MARK: [u8; 3] = [110, 185, 255];
    const MAP_FRAME: [u8; 3] = [128, 134, 142];
    let gpu = gpu();
    let mut r = renderer(&gpu);
    // Saturated to the paper scale's black, and empty (white).
    for (fill, name) in [(1000.0, "saturated"), (0.0, "empty")] {
        let values: Vec<Vec<f32>> = (0..6).map(|_| filled(fill)).collect();
        let view = ViewState {
            local: scanwall::known::LocalPrefix::from_v4(&[([123, 56, 104, 0], 24)]),
            ..ViewState::default()
        };
        let img = r
            .render_to_image(&gpu, &frame(tiles(&values), view.clone()), 1920, 1080)
            .expect("render");
        save(&img, &format!("marks-{name}"));
        let arr = view.arrange(6, 1920, 1080);
        for slot in &arr.slots {
            let m = slot.map;
            // The frame on all four sides, between ticks (at cell 4 of 8).
            let mid = slot.cell_rect(4, 4);
            let x = mid.x + mid.w / 2;
            let y = mid.y + mid.h / 2;
            for (px, py) in [(x, m.y - 1), (x, m.bottom()), (m.right(), y)] {
                assert_eq!(
                    rgb(&img, px, py),
                    MAP_FRAME,
                    "{name}: tile {} at ({px},{py})",
                    slot.tile
                );
            }
        }
        let row_mark = |tile: usize, row: u16| {
            let slot = arr.slots.iter().find(|s| s.tile == tile).expect("tile shown");
            let c = slot.cell_rect(row, 0);
            rgb(&img, slot.map.x - 2, c.y + c.h / 2)
        };
        // ICMP (tile 0): the local /24, row 104; not row 40.
        assert_eq!(row_mark(0, 104), MARK, "{name}: local /24 row");
        assert_ne!(row_mark(0, 40), MARK, "{name}: row 40 is not local");
        // Port (tile 4): ports 0-1023 are rows 0-3.
        assert_eq!(row_mark(4, 1), MARK, "{name}: well-known ports");
        assert_eq!(row_mark(4, 3), MARK, "{name}: well-known ports");
        assert_ne!(row_mark(4, 6), MARK, "{name}: port 1536 is not well-known");
        // Length (tile 5): 1500 is row 5, column 220; marked above the map.
        assert_eq!(row_mark(5, 5), MARK, "{name}: length 1500's row");
        let len = arr.slots.iter().find(|s| s.tile == 5).expect("len shown");
        let c = len.cell_rect(5, 220);
        assert_eq!(
            rgb(&img, c.x + c.w / 2, len.map.y - 2),
            MARK,
            "{name}: length 1500's column"
        );
    }
}

/// Labels inside a map (each /20 square named along the Hilbert curve) are
/// drawn over its cells, on the frame drawn whole and on the frames drawn
/// over the kept backdrop after it, which holds only the labels clear of
/// every map.
#[test]
fn labels_inside_maps_stay_over_the_cells() {
    let gpu = gpu();
    let mut r = renderer(&gpu);
    let values = distinct_tiles(6);
    let view = ViewState {
        order: CellOrder::Hilbert,
        ..ViewState::default()
    };
    let (w, h) = (1920, 1080);
    let arr = view.arrange(6, w, h);
    for k in 0..3 {
        let shown = tiles(&values);
        let curve: Vec<bool> = shown
            .iter()
            .map(|t| t.follows_curve(CellOrder::Hilbert))
            .collect();
        let img = r
            .render_to_image(&gpu, &frame(shown, view.clone()), w, h)
            .expect("render");
        let mut labelled = 0;
        for slot in arr.slots.iter().filter(|s| curve[s.tile]) {
            // The first /20's square: the top left quarter of the top left
            // quarter (64 x 64 cells), where its name is written.
            let square = Rect::new(slot.map.x, slot.map.y, slot.map.w / 4, slot.map.h / 4);
            let white = (square.y..square.bottom())
                .flat_map(|y| (square.x..square.right()).map(move |x| (x, y)))
                .filter(|&(x, y)| rgb(&img, x, y).iter().all(|&c| c >= 220))
                .count();
            assert!(
                white > 30,
                "frame {k}, tile {}: {white} label pixels over the cells",
                slot.tile
            );
            labelled += 1;
        }
        assert!(labelled >= 2, "{labelled} address maps shown");
    }
}
