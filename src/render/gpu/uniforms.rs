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
//! wgpu refuses a shader whose uniform outgrew it; the tests below compare the
//! offsets with the layout rules and with the shader itself, parsed by naga.

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
    /// Per segment k of the sequential scale (stop k - 1 to stop k), what the
    /// shader's `Scale` is built from ([`segment`]); all zero for
    /// k = 0 and past the last stop.
    pub segments: [[f32; 4]; MAX_STOPS],
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
        for (k, pair) in stops.windows(2).enumerate().take(MAX_STOPS - 1) {
            g.segments[k + 1] = segment(pair[0].value, pair[1].value);
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

/// The segment of the scale from a stop at value `from` to the next at
/// `to`: where it starts on its axis, 1 / its length there, and 1 when that
/// axis is log2 of the value (a segment from a positive stop; from zero it is
/// the value itself, as [`crate::render::colour::colour_on`] interpolates).
/// A segment of no length is a step (its reciprocal the largest float).
fn segment(from: f32, to: f32) -> [f32; 4] {
    let (start, end, log) = if from > 0.0 {
        (from.log2(), to.log2(), 1.0)
    } else {
        (from, to, 0.0)
    };
    let length = end - start;
    let reciprocal = if length > 0.0 { 1.0 / length } else { f32::MAX };
    [start, reciprocal, log, 0.0]
}

#[cfg(test)]
mod tests {
    use std::mem::{offset_of, size_of, size_of_val};

    use wgpu::naga;

    use super::*;
    use crate::maps::{CELLS, SIDE};

    #[test]
    fn globals_carry_the_scale_table() {
        let g = Globals::new(1920, 1080, (1024, 512), &ViewState::default(), &[], None);
        assert_eq!(g.screen, [1920.0, 1080.0, 8.0, 7.0]);
        assert_eq!(g.atlas, [1024.0, 512.0, 0.0, 0.0]);
        assert_eq!(g.stops[1], [4.0, 0.0, 0.0, 1.0]);
        assert_eq!(g.diverging[3][0], 0.0);
        // The paper's segments: 0 to 4 on the value's own axis, then log2
        // (4 to 8 is 2 to 3), the last from 128 to 255; none before the first.
        assert_eq!(g.segments[0], [0.0; 4]);
        assert_eq!(g.segments[1], [0.0, 0.25, 0.0, 0.0]);
        assert_eq!(g.segments[2], [2.0, 1.0, 1.0, 0.0]);
        assert_eq!(g.segments[7], [7.0, 1.0 / (255f32.log2() - 7.0), 1.0, 0.0]);
        // A segment of no length is a step, not a division by zero.
        assert_eq!(segment(8.0, 8.0)[1], f32::MAX);
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

    /// Offsets of members laid out by WGSL's rules for the uniform address
    /// space: each at the next multiple of its alignment, the struct's size
    /// its end rounded up to its alignment (at least 16). Members are given
    /// as (alignment, size).
    fn wgsl_layout(members: &[(usize, usize)]) -> (Vec<usize>, usize) {
        let mut offsets = Vec::new();
        let mut end = 0usize;
        let mut align = 16usize;
        for &(a, size) in members {
            let at = end.next_multiple_of(a);
            offsets.push(at);
            end = at + size;
            align = align.max(a);
        }
        (offsets, end.next_multiple_of(align))
    }

    #[test]
    fn rust_structs_have_the_wgsl_uniform_layout() {
        // A vec4<f32> is 16 bytes, aligned to 16; array<E, N> in a uniform has
        // a stride of size(E) rounded up to 16, and is aligned like E (to at
        // least 16).
        let vec4 = (16, 16);
        let array = |(align, size): (usize, usize), n: usize| (align.max(16), size.next_multiple_of(16) * n);
        let (offsets, span) = wgsl_layout(&[vec4, vec4, vec4]);
        assert_eq!(
            [
                offset_of!(MapParams, a),
                offset_of!(MapParams, b),
                offset_of!(MapParams, c)
            ],
            offsets[..]
        );
        assert_eq!(size_of::<MapParams>(), span);
        assert_eq!(span, 48);
        let map_params = (16, span);

        let (offsets, span) = wgsl_layout(&[
            vec4,
            vec4,
            array(vec4, MAX_STOPS),
            array(vec4, MAX_STOPS),
            array(vec4, MAX_STOPS),
            array(map_params, MAX_TILES),
            array(vec4, MAX_TILES * RANK_BUCKETS / 4),
        ]);
        let rust = [
            offset_of!(Globals, screen),
            offset_of!(Globals, atlas),
            offset_of!(Globals, stops),
            offset_of!(Globals, diverging),
            offset_of!(Globals, segments),
            offset_of!(Globals, maps),
            offset_of!(Globals, ranks),
        ];
        assert_eq!(rust, offsets[..]);
        assert_eq!(size_of::<Globals>(), span);
        // Spelled out, for whoever reads the shader: 0, 16, 32, 160, 288,
        // 416, 992 and 13,280 bytes in all.
        assert_eq!(rust, [0, 16, 32, 160, 288, 416, 992]);
        assert_eq!(span, 13_280);
    }

    /// The shader as naga reads it.
    fn shader() -> naga::Module {
        match naga::front::wgsl::parse_str(super::super::resources::SHADER) {
            Ok(module) => module,
            Err(e) => panic!("{}", e.emit_to_string(super::super::resources::SHADER)),
        }
    }

    /// The (name, offset, size) of each member of struct type `ty`, and its span.
    fn wgsl_members(
        module: &naga::Module,
        layouter: &naga::proc::Layouter,
        ty: naga::Handle<naga::Type>,
    ) -> (Vec<(String, usize, usize)>, usize) {
        let naga::TypeInner::Struct { members, span } = &module.types[ty].inner else {
            panic!("{:?} is not a struct", module.types[ty].name);
        };
        let members = members
            .iter()
            .map(|m| {
                let name = m.name.clone().unwrap_or_default();
                (name, m.offset as usize, layouter[m.ty].size as usize)
            })
            .collect();
        (members, *span as usize)
    }

    #[test]
    fn wgsl_uniform_matches_the_rust_structs() {
        let module = shader();
        let mut layouter = naga::proc::Layouter::default();
        layouter
            .update(module.to_ctx())
            .expect("the shader's types have a layout");
        let binding = naga::ResourceBinding { group: 0, binding: 0 };
        let uniform = module
            .global_variables
            .iter()
            .map(|(_, v)| v)
            .find(|v| v.binding == Some(binding))
            .expect("a binding at group 0, binding 0");
        assert_eq!(uniform.space, naga::AddressSpace::Uniform);
        assert_eq!(module.types[uniform.ty].name.as_deref(), Some("Globals"));

        let g = Globals::zeroed();
        let field = |name: &str, offset: usize, size: usize| (name.to_owned(), offset, size);
        let (members, span) = wgsl_members(&module, &layouter, uniform.ty);
        let rust = vec![
            field("screen", offset_of!(Globals, screen), size_of_val(&g.screen)),
            field("atlas", offset_of!(Globals, atlas), size_of_val(&g.atlas)),
            field("stops", offset_of!(Globals, stops), size_of_val(&g.stops)),
            field(
                "diverging",
                offset_of!(Globals, diverging),
                size_of_val(&g.diverging),
            ),
            field(
                "segments",
                offset_of!(Globals, segments),
                size_of_val(&g.segments),
            ),
            field("maps", offset_of!(Globals, maps), size_of_val(&g.maps)),
            field("ranks", offset_of!(Globals, ranks), size_of_val(&g.ranks)),
        ];
        assert_eq!(members, rust, "Globals: WGSL (left) against Rust (right)");
        assert_eq!(span, size_of::<Globals>(), "Globals' size");

        // The maps' element type and stride.
        let naga::TypeInner::Struct {
            members: ref wgsl, ..
        } = module.types[uniform.ty].inner
        else {
            unreachable!("checked above");
        };
        let maps = wgsl.iter().find(|m| m.name.as_deref() == Some("maps"));
        let ty = maps.expect("checked above").ty;
        let naga::TypeInner::Array { base, stride, .. } = module.types[ty].inner else {
            panic!("Globals.maps is not an array");
        };
        assert_eq!(stride as usize, size_of::<MapParams>(), "MapParams' stride");
        let p = MapParams::default();
        let (members, span) = wgsl_members(&module, &layouter, base);
        let rust = vec![
            field("a", offset_of!(MapParams, a), size_of_val(&p.a)),
            field("b", offset_of!(MapParams, b), size_of_val(&p.b)),
            field("c", offset_of!(MapParams, c), size_of_val(&p.c)),
        ];
        assert_eq!(members, rust, "MapParams: WGSL (left) against Rust (right)");
        assert_eq!(span, size_of::<MapParams>(), "MapParams' size");
    }

    #[test]
    fn wgsl_constants_match_rust() {
        let module = shader();
        let constant = |name: &str| {
            let (_, c) = module
                .constants
                .iter()
                .find(|(_, c)| c.name.as_deref() == Some(name))
                .unwrap_or_else(|| panic!("the shader has no constant {name}"));
            match module.global_expressions[c.init] {
                naga::Expression::Literal(naga::Literal::U32(v)) => f64::from(v),
                naga::Expression::Literal(naga::Literal::F32(v)) => f64::from(v),
                ref e => panic!("{name} is {e:?}, not a u32 or f32 literal"),
            }
        };
        let expected = [
            ("MAX_STOPS", MAX_STOPS as f64),
            ("MAX_TILES", MAX_TILES as f64),
            ("RANK_BUCKETS", RANK_BUCKETS as f64),
            ("SIDE", SIDE as f64),
            ("ATLAS_COLS", f64::from(ATLAS_COLS)),
            ("RANK_FLOOR", f64::from(crate::render::scale::RANK_FLOOR)),
            ("MODE_PAPER", f64::from(MODE_PAPER)),
            ("MODE_AUTO", f64::from(MODE_AUTO)),
            ("MODE_LOG", f64::from(MODE_LOG)),
            ("MODE_RANK", f64::from(MODE_RANK)),
            ("MODE_CHANGE", f64::from(MODE_CHANGE)),
        ];
        for (name, value) in expected {
            assert_eq!(constant(name), value, "{name}: WGSL (left) against Rust (right)");
        }
        assert_eq!(MODES as f64, MODE_CHANGE as f64 + 1.0, "a pipeline per mode code");
    }
}
