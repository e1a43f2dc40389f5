//! Offscreen pixels on lavapipe: the colour scale lands exactly at its stops,
//! interpolates between them like the CPU reference, and cells never blend.

mod support;

use scanwall::maps::SIDE;
use scanwall::render::colour::{PAPER_SCALE, colour_for, colour_on};
use scanwall::render::{AdapterChoice, ColourMap, Gpu, LayoutKind, RenderError, RgbaImage, ViewState};
use support::*;

/// Asserts every pixel of every shown map is exactly the colour of the cell
/// the CPU hit test puts it in: no blending, no offset, nothing missing. A
/// map smaller than 256 pixels max-pools (issue #21): each pixel is then the
/// colour of the largest value among all the cells it covers.
fn assert_cells_exact(img: &RgbaImage, view: &ViewState, values: &[Vec<f32>]) {
    let arr = view.arrange(values.len(), img.width, img.height);
    assert!(!arr.slots.is_empty());
    for slot in &arr.slots {
        let m = slot.map;
        let side = SIDE as i32;
        for y in m.y..m.bottom() {
            for x in m.x..m.right() {
                let (row, col) = slot.cell_at(x, y).expect("inside the map");
                let v = if m.w >= side {
                    values[slot.tile][usize::from(row) * SIDE + usize::from(col)]
                } else {
                    // The cells pixel p covers: [p * 256 / w, ceil((p + 1) * 256 / w)).
                    let span = |p: i32| {
                        let lo = p * side / m.w;
                        ((lo), (((p + 1) * side + m.w - 1) / m.w - 1).min(side - 1))
                    };
                    let (r0, r1) = span(y - m.y);
                    let (c0, c1) = span(x - m.x);
                    (r0..=r1)
                        .flat_map(|r| (c0..=c1).map(move |c| (r, c)))
                        .map(|(r, c)| values[slot.tile][r as usize * SIDE + c as usize])
                        .fold(f32::MIN, f32::max)
                };
                let want = colour_for(v);
                let got = rgb(img, x, y);
                assert_eq!(
                    got, want,
                    "tile {} ({} px) pixel ({x},{y}) cell ({row},{col}) value {v}",
                    slot.tile, m.w
                );
            }
        }
    }
}

/// Values drawn only from the stops, so every pixel has an exact answer.
fn random_stops(seed: u64) -> Vec<f32> {
    let mut rng = fastrand::Rng::with_seed(seed);
    (0..SIDE * SIDE)
        .map(|_| PAPER_SCALE[rng.usize(..PAPER_SCALE.len())].value)
        .collect()
}

#[test]
fn each_stop_colour_is_exact_at_its_cell() {
    let gpu = gpu();
    let mut r = renderer(&gpu);
    let mut values = filled(0.0);
    // Stop i at cell (20 + 25 i, 30 + 25 i), a value far off around it.
    for (i, stop) in PAPER_SCALE.iter().enumerate() {
        let (row, col) = (20 + 25 * i, 30 + 25 * i);
        for (dr, dc) in [(0, 1), (1, 0), (0, usize::MAX), (usize::MAX, 0)] {
            *at(&mut values, row.wrapping_add(dr), col.wrapping_add(dc)) = 1000.0;
        }
        *at(&mut values, row, col) = stop.value;
    }
    let view = ViewState {
        layout: LayoutKind::Single,
        ..ViewState::default()
    };
    let all = vec![values];
    let img = r
        .render_to_image(&gpu, &frame(tiles(&all), view.clone()), 1920, 1080)
        .expect("render");
    save(&img, "stops-single");
    let arr = view.arrange(1, 1920, 1080);
    let slot = arr.slots[0];
    assert!(slot.map.w >= 512, "single map should be large: {:?}", slot.map);
    for (i, stop) in PAPER_SCALE.iter().enumerate() {
        let cell = slot.cell_rect(20 + 25 * i as u16, 30 + 25 * i as u16);
        assert!(cell.w >= 2 && cell.h >= 2);
        for y in cell.y..cell.bottom() {
            for x in cell.x..cell.right() {
                assert_eq!(rgb(&img, x, y), stop.rgb, "stop {} at ({x},{y})", stop.label);
            }
        }
    }
    assert_cells_exact(&img, &view, &all);
}

#[test]
fn between_stops_matches_the_cpu_reference() {
    let gpu = gpu();
    let mut r = renderer(&gpu);
    let probes = [
        1.0f32, 2.0, 3.0, 5.0, 5.657, 7.0, 11.0, 12.0, 20.0, 45.0, 100.0, 200.0, 254.0, 256.0, 5000.0,
    ];
    let mut values = filled(0.0);
    for (i, v) in probes.iter().enumerate() {
        for c in 0..SIDE {
            *at(&mut values, 8 * i + 4, c) = *v;
        }
    }
    let view = ViewState {
        layout: LayoutKind::Single,
        ..ViewState::default()
    };
    let all = vec![values];
    let img = r
        .render_to_image(&gpu, &frame(tiles(&all), view.clone()), 1280, 1024)
        .expect("render");
    let slot = view.arrange(1, 1280, 1024).slots[0];
    for (i, v) in probes.iter().enumerate() {
        let cell = slot.cell_rect(8 * i as u16 + 4, 100);
        let got = rgb(&img, cell.x, cell.y);
        let want = colour_for(*v);
        for c in 0..3 {
            assert!(
                got[c].abs_diff(want[c]) <= 1,
                "value {v}: GPU {got:?}, CPU {want:?}"
            );
        }
    }
    // Doubling stops: 5.657 (= sqrt 32) is half-way from blue to cyan.
    let mid = slot.cell_rect(8 * 4 + 4, 10);
    let got = rgb(&img, mid.x, mid.y);
    assert!(
        got[0] == 0 && got[1].abs_diff(128) <= 1 && got[2] == 255,
        "{got:?}"
    );
}

/// Every colour map, on values at, between, below and beyond its stops (and
/// the values no count should reach: infinity and NaN): the shader's sum over
/// segments gives the CPU reference's colour to within one step of rounding.
#[test]
fn every_colour_map_matches_the_cpu_reference_across_its_range() {
    let gpu = gpu();
    let mut r = renderer(&gpu);
    for colours in ColourMap::ALL {
        let stops = colours.stops();
        // Each stop, the geometric and arithmetic middles to the next, just
        // under and over it, and values outside the scale.
        let mut probes = vec![-1.0f32, 0.0, 1e-6, f32::INFINITY, f32::NAN, 1e9];
        for pair in stops.windows(2) {
            let (a, b) = (pair[0].value, pair[1].value);
            probes.extend([a, (a + b) / 2.0, b * 0.999, a * 1.001 + 1e-3]);
            if a > 0.0 {
                probes.push((a * b).sqrt());
            }
        }
        probes.push(stops[stops.len() - 1].value);
        assert!(probes.len() <= SIDE / 4, "{} probes", probes.len());
        let mut values = filled(0.0);
        for (i, v) in probes.iter().enumerate() {
            for c in 0..SIDE {
                *at(&mut values, 4 * i + 2, c) = *v;
            }
        }
        let view = ViewState {
            layout: LayoutKind::Single,
            colours,
            ..ViewState::default()
        };
        let all = vec![values];
        let img = r
            .render_to_image(&gpu, &frame(tiles(&all), view.clone()), 1280, 1024)
            .expect("render");
        let slot = view.arrange(1, 1280, 1024).slots[0];
        for (i, v) in probes.iter().enumerate() {
            let cell = slot.cell_rect(4 * i as u16 + 2, 100);
            let got = rgb(&img, cell.x, cell.y);
            let want = colour_on(&stops, *v);
            for c in 0..3 {
                assert!(
                    got[c].abs_diff(want[c]) <= 1,
                    "{colours:?} value {v}: GPU {got:?}, CPU {want:?}"
                );
            }
        }
    }
}

#[test]
fn neighbouring_cells_never_blend_at_one_or_more_pixels_per_cell() {
    let gpu = gpu();
    let mut r = renderer(&gpu);
    let values: Vec<Vec<f32>> = (0..6).map(random_stops).collect();
    // Six maps at 1080p: over one pixel per cell (uneven: 1 or 2); single
    // at 1080p: three; focus at 1600x1000: the small maps below 256 pixels,
    // max-pooled.
    for (layout, w, h) in [
        (LayoutKind::Grid3x2, 1920, 1080),
        (LayoutKind::Single, 1920, 1080),
        (LayoutKind::Focus, 1600, 1000),
    ] {
        let view = ViewState {
            layout,
            focus: 2,
            ..ViewState::default()
        };
        let img = r
            .render_to_image(&gpu, &frame(tiles(&values), view.clone()), w, h)
            .expect("render");
        save(&img, &format!("crisp-{layout}"));
        assert_cells_exact(&img, &view, &values);
    }
}

#[test]
fn six_maps_on_gl_are_not_read_as_a_cube_map() {
    // GL turns a square array of six layers into a cube map and reads black;
    // the renderer allocates seven. Skip only where GL has no adapter at all.
    let gpu = match Gpu::headless_on(wgpu::Backends::GL, AdapterChoice::PreferHardware) {
        Ok(g) => g,
        Err(RenderError::NoAdapter(e)) => {
            eprintln!("skipping: no GL adapter here ({e})");
            return;
        }
        Err(e) => panic!("{e}"),
    };
    assert_eq!(gpu.adapter.get_info().backend, wgpu::Backend::Gl);
    let mut r = renderer(&gpu);
    let values: Vec<Vec<f32>> = (0..6).map(|i| random_stops(100 + i)).collect();
    let view = ViewState::default();
    let img = r
        .render_to_image(&gpu, &frame(tiles(&values), view.clone()), 1920, 1080)
        .expect("render on GL");
    save(&img, "gl-six");
    assert_cells_exact(&img, &view, &values);
}
