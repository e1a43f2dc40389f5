//! Shared helpers for the offscreen render tests: synthetic frames on
//! lavapipe (software, so pictures are the same on every machine).
#![allow(dead_code)]

use std::path::PathBuf;

use scanwall::maps::{CELLS, MAPS, SIDE};
use scanwall::render::{
    AdapterChoice, FrameInput, Gpu, RgbaImage, StatusInfo, TileInput, ViewState, WallRenderer,
};

/// A software device, or the test fails saying what to install.
pub fn gpu() -> Gpu {
    match Gpu::headless(AdapterChoice::Software) {
        Ok(g) => g,
        Err(e) => panic!("offscreen render tests need a software adapter: {e}"),
    }
}

/// A renderer writing Rgba8Unorm, as snapshots do.
pub fn renderer(gpu: &Gpu) -> WallRenderer {
    WallRenderer::new(gpu, wgpu::TextureFormat::Rgba8Unorm)
}

/// A status line with every field filled.
pub fn status(demo: bool) -> StatusInfo {
    StatusInfo {
        source: if demo { "demo".into() } else { "eth0".into() },
        demo,
        packets_per_sec: 31234.0,
        kernel_drops: 12,
        interface_drops: 3,
        drop_percent: 0.05,
        half_life: "10 s".into(),
        packet_clock: "2021-06-01 12:00:03".into(),
        frames_per_sec: 60.0,
        stalled: false,
        shed: 0,
        peers: String::new(),
        ended_secs: None,
    }
}

/// Every cell holding `v`.
pub fn filled(v: f32) -> Vec<f32> {
    vec![v; CELLS]
}

/// Value of cell (row, col) in row-major storage.
pub fn at(values: &mut [f32], row: usize, col: usize) -> &mut f32 {
    &mut values[row * SIDE + col]
}

/// Tiles over the first `values.len()` maps of the default six (then the rest).
pub fn tiles(values: &[Vec<f32>]) -> Vec<TileInput<'_>> {
    let order = [0usize, 1, 2, 3, 4, 8, 5, 6, 7];
    values
        .iter()
        .zip(order)
        .map(|(v, m)| TileInput {
            def: &MAPS[m],
            values: v,
            rate_pps: 1000.0 * (m as f64 + 1.0),
            baseline: None,
            scale: None,
        })
        .collect()
}

/// A frame of these tiles with this view.
pub fn frame<'a>(tiles: Vec<TileInput<'a>>, view: ViewState) -> FrameInput<'a> {
    FrameInput {
        tiles,
        status: status(true),
        view,
    }
}

/// Saves a picture under the test's target temp dir for a person to look at.
pub fn save(img: &RgbaImage, name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("render-tests");
    std::fs::create_dir_all(&dir).expect("create test output dir");
    let path = dir.join(format!("{name}.png"));
    img.write_png(&path).expect("write png");
    path
}

/// The RGB at (x, y), panicking with the position when outside.
pub fn rgb(img: &RgbaImage, x: i32, y: i32) -> [u8; 3] {
    img.rgb(x as u32, y as u32)
        .unwrap_or_else(|| panic!("({x}, {y}) outside {}x{}", img.width, img.height))
}
