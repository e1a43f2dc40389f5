//! The uniform every pipeline reads, `Globals` in `shaders/wall.wgsl`, as a
//! Rust struct laid out byte for byte like the shader's, and the constants
//! the two sides share.
//!
//! Why a struct: the uniform used to be packed by hand as vectors of four
//! floats at computed offsets, and the shader was kept in step by comments.
//! Here each WGSL struct has a `#[repr(C)]` twin, field for field. Every
//! member is a `vec4<f32>` or an array of them (or of structs of them), so
//! WGSL's uniform layout rules (16-byte alignment, 16-byte array strides)
//! leave no padding anywhere and `#[repr(C)]` gives the same offsets. The
//! bind group layout states the struct's size as the binding's minimum, so
//! wgpu refuses a shader whose uniform outgrew it.

use bytemuck::{Pod, Zeroable};

use super::super::colour::DIVERGING_SCALE;
use super::super::scale::{MapScale, MapView, ScaleMode};
use super::super::{TileInput, ViewState};

/// Colour stops in each scale table (`MAX_STOPS` in the shader).
pub(super) use super::super::colour::MAX_STOPS;
/// Buckets of a map's rank table (`RANK_BUCKETS` in the shader).
pub(super) use super::super::scale::RANK_BUCKETS;

/// Most maps the uniform carries scale numbers for (the catalogue has nine;
/// `MAX_TILES` in the shader).
pub(super) const MAX_TILES: usize = 12;
/// Map tiles per row of the colour atlas (`ATLAS_COLS` in the shader).
pub(super) const ATLAS_COLS: u32 = 4;

/// Scale mode codes of the shader's `MapParams.a.x` and `MODE`: paper.
pub(super) const MODE_PAPER: f32 = 0.0;
/// Scale mode code: automatic gain.
pub(super) const MODE_AUTO: f32 = 1.0;
/// Scale mode code: logarithmic.
pub(super) const MODE_LOG: f32 = 2.0;
/// Scale mode code: rank.
pub(super) const MODE_RANK: f32 = 3.0;
/// Scale mode code: change against the baseline.
pub(super) const MODE_CHANGE: f32 = 4.0;
/// Colour pass pipelines, one per mode code.
pub(super) const MODES: usize = 5;

/// The mode code the maps of a frame of `view` are coloured in: the change
/// view when baselines are drawn (`change`), else the view's scale mode.
pub(super) fn mode_code(view: &ViewState, change: bool) -> f32 {
    if view.map_view == MapView::Change && change {
        return MODE_CHANGE;
    }
    match view.scale {
        ScaleMode::Paper => MODE_PAPER,
        ScaleMode::Auto => MODE_AUTO,
        ScaleMode::Log => MODE_LOG,
        ScaleMode::Rank => MODE_RANK,
    }
}

/// One map's scale numbers: `MapParams` in the shader.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Pod, Zeroable)]
pub(super) struct MapParams {
    /// Mode code, gain (auto), maximum (log), unused.
    pub a: [f32; 4],
    /// log2 of the lowest and highest non-zero value (rank), baseline layer
    /// (change), unused.
    pub b: [f32; 4],
    /// Short-term and baseline packets/s per unit value (change), unused,
    /// unused.
    pub c: [f32; 4],
}

/// The uniform shared by all pipelines: `Globals` in the shader, at group 0,
/// binding 0.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Pod, Zeroable)]
pub(super) struct Globals {
    /// Target width and height (pixels), number of stops, number of
    /// diverging stops.
    pub screen: [f32; 4],
    /// The colour atlas: width, height (texels), unused, unused.
    pub atlas: [f32; 4],
    /// Per stop of the view's sequential scale: value, r, g, b (sRGB, 0..1).
    pub stops: [[f32; 4]; MAX_STOPS],
    /// The change view's scale: log2 ratio, r, g, b.
    pub diverging: [[f32; 4]; MAX_STOPS],
    /// Per drawn map, in slot order, its scale numbers.
    pub maps: [MapParams; MAX_TILES],
    /// Per map, [`RANK_BUCKETS`] cumulative fractions, four to a vector. The
    /// shader declares one flat `array<vec4<f32>, MAX_TILES * RANK_BUCKETS /
    /// 4>`; nested by map here (the same bytes), which reads better and needs
    /// no array length beyond those bytemuck knows without const generics.
    pub ranks: [[[f32; 4]; RANK_BUCKETS / 4]; MAX_TILES],
}

impl Globals {
    /// The uniform for one frame: the target and atlas sizes, the colour
    /// tables of the view and, per drawn map (in slot order), its scale
    /// numbers. `baseline_layer(i)` is where map i's baseline was uploaded,
    /// when the change view is drawn.
    pub(super) fn new(
        width: u32,
        height: u32,
        atlas: (u32, u32),
        view: &ViewState,
        tiles: &[&TileInput<'_>],
        baseline_layer: Option<&dyn Fn(usize) -> u32>,
    ) -> Globals {
        let mut g = Globals::zeroed();
        let rgb = |c: [u8; 3]| c.map(|v| f32::from(v) / 255.0);
        let stops = view.colours.stops();
        for (out, s) in g.stops.iter_mut().zip(&stops) {
            let [r, gr, b] = rgb(s.rgb);
            *out = [s.value, r, gr, b];
        }
        for (out, s) in g.diverging.iter_mut().zip(&DIVERGING_SCALE) {
            let [r, gr, b] = rgb(s.rgb);
            *out = [s.value, r, gr, b];
        }
        g.screen = [
            width as f32,
            height as f32,
            stops.len() as f32,
            DIVERGING_SCALE.len() as f32,
        ];
        g.atlas = [atlas.0 as f32, atlas.1 as f32, 0.0, 0.0];
        let empty = MapScale::default();
        let mode = mode_code(view, baseline_layer.is_some());
        let per_map = g.maps.iter_mut().zip(g.ranks.iter_mut());
        for (i, ((params, ranks), tile)) in per_map.zip(tiles).enumerate() {
            let scale = tile.scale.unwrap_or(&empty);
            let base = match baseline_layer {
                Some(layer) if mode == MODE_CHANGE => layer(i) as f32,
                _ => 0.0,
            };
            *params = MapParams {
                a: [mode, scale.gain, scale.max, 0.0],
                b: [scale.rank_lo, scale.rank_hi, base, 0.0],
                c: [scale.short_rate, scale.baseline_rate, 0.0, 0.0],
            };
            for (out, chunk) in ranks.iter_mut().zip(scale.rank_cdf.chunks_exact(4)) {
                out.copy_from_slice(chunk);
            }
        }
        g
    }
}

#[cfg(test)]
mod tests {
    use std::mem::size_of;

    use super::*;
    use crate::maps::CELLS;

    #[test]
    fn globals_carry_the_scale_table() {
        let g = Globals::new(1920, 1080, (1024, 512), &ViewState::default(), &[], None);
        assert_eq!(g.screen, [1920.0, 1080.0, 8.0, 7.0]);
        assert_eq!(g.atlas, [1024.0, 512.0, 0.0, 0.0]);
        assert_eq!(g.stops[1], [4.0, 0.0, 0.0, 1.0]);
        assert_eq!(g.diverging[3][0], 0.0);
        // Within the smallest uniform binding any device offers (16 KiB).
        assert!(size_of::<Globals>() <= 16_384, "{}", size_of::<Globals>());
    }

    #[test]
    fn map_params_follow_the_view() {
        let values = vec![0.0f32; CELLS];
        let scale = MapScale {
            gain: 0.5,
            ..MapScale::default()
        };
        let tile = |m: usize| TileInput {
            def: &crate::maps::MAPS[m],
            values: &values,
            rate_pps: 0.0,
            baseline: Some(&values),
            scale: Some(&scale),
        };
        let (addr, port) = (tile(2), tile(4));
        let view = ViewState {
            scale: ScaleMode::Auto,
            order: crate::render::CellOrder::Hilbert,
            ..ViewState::default()
        };
        let g = Globals::new(10, 10, (1024, 256), &view, &[&addr, &port], None);
        assert_eq!(g.maps[0].a, [MODE_AUTO, 0.5, 0.0, 0.0]);
        let change = ViewState {
            map_view: MapView::Change,
            ..view
        };
        let g = Globals::new(
            10,
            10,
            (1024, 256),
            &change,
            &[&addr, &port],
            Some(&|i| 2 + i as u32),
        );
        assert_eq!(g.maps[1].a[0], MODE_CHANGE);
        assert_eq!(g.maps[1].b[2], 3.0);
        assert_eq!(g.ranks[0][0], [1.0; 4]);
        // The change view without baselines falls back to the scale mode.
        let g = Globals::new(10, 10, (1024, 256), &change, &[&addr, &port], None);
        assert_eq!(g.maps[1].a[0], MODE_AUTO);
    }
}
