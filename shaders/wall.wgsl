// The wall's shader: colour-maps the counted values and draws flat rectangles.
//
// A frame is drawn in two steps. The colour pass (`vs_colour` / `fs_colour`)
// colours each shown map once, one fragment per cell, into a tile of the
// colour atlas: 256 x 256 texels per map, ATLAS_COLS tiles to a row. The wall
// pass then draws each map's rectangle on screen by fetching its cells from the
// atlas (`fs_map`), so the scale arithmetic runs 65,536 times per map whatever
// the screen size, and a cell's pixels are copies of one texel. A map drawn
// smaller than 256 pixels max-pools: each pixel shows the most salient of the
// cells it covers, so no cell is ever hidden. (Where a map
// is shown at exactly one pixel per cell and the target takes copies, the
// renderer copies its tile into place instead: the same pixels.)
//
// Everything is in pixels with the origin at the top left; instances carry
// their rectangles. The colour stops come from the Rust table
// (src/render/colour.rs) through the uniform, so legend and maps share them.
// Per-map scale numbers (src/render/scale.rs) come through the same uniform,
// indexed by the map's slot. Maps drawn along the Hilbert curve are uploaded
// already in picture order (the renderer permutes them), so the shader never
// sees the curve.

// These constants and the uniform's structs below have twins in
// src/render/gpu/uniforms.rs, whose tests parse this file and fail where the
// two sides differ.

const MAX_STOPS: u32 = 8u;
const MAX_TILES: u32 = 12u;
const RANK_BUCKETS: u32 = 256u;
// Cells along a map's side, and map tiles per row of the colour atlas.
const SIDE: u32 = 256u;
const ATLAS_COLS: u32 = 4u;
// The lowest scale position of a non-zero cell in rank mode (scale.rs RANK_FLOOR).
const RANK_FLOOR: f32 = 0.071428571;

// Scale modes (MapParams.a.x, and the colour pass's MODE).
const MODE_PAPER: u32 = 0u;
const MODE_AUTO: u32 = 1u;
const MODE_LOG: u32 = 2u;
const MODE_RANK: u32 = 3u;
const MODE_CHANGE: u32 = 4u;

// The scale mode a colour pass pipeline is built for: one pipeline per mode,
// so each carries only its own arithmetic (on a software rasteriser every
// branch not taken still costs, lane-masked).
override MODE: u32 = 0u;

// One map's scale numbers (`MapParams` in uniforms.rs).
struct MapParams {
    // mode, gain (auto), max (log), unused
    a: vec4<f32>,
    // log2 lowest and highest non-zero value (rank), baseline layer (change), unused
    b: vec4<f32>,
    // short-term and baseline packets/s per unit value (change), unused, unused
    c: vec4<f32>,
};

// The uniform every pipeline reads (`Globals` in uniforms.rs). Only vec4s and
// arrays of them, so WGSL's uniform layout has no padding and the Rust struct's
// #[repr(C)] layout is the same bytes.
struct Globals {
    // width, height (pixels), number of stops, number of diverging stops
    screen: vec4<f32>,
    // the colour atlas: width, height (texels), unused, unused
    atlas: vec4<f32>,
    // per stop: value, r, g, b (sRGB, 0..1, written unchanged to a Unorm target)
    stops: array<vec4<f32>, MAX_STOPS>,
    // the change view's scale: log2 ratio, r, g, b
    diverging: array<vec4<f32>, MAX_STOPS>,
    // per segment k of the scale (stop k - 1 to stop k): its start on its
    // axis, 1 / its length there, 1 for a log2 axis (0: the value's own),
    // unused; all zero for k = 0 and past the last stop
    segments: array<vec4<f32>, MAX_STOPS>,
    maps: array<MapParams, MAX_TILES>,
    // per map, RANK_BUCKETS cumulative fractions, four to a vector
    ranks: array<vec4<f32>, MAX_TILES * RANK_BUCKETS / 4u>,
};

@group(0) @binding(0) var<uniform> globals: Globals;
@group(0) @binding(1) var maps: texture_2d_array<f32>;
// The colour atlas the colour pass wrote (bound for the wall pass only).
@group(1) @binding(0) var colours: texture_2d<f32>;

fn to_clip(p: vec2<f32>) -> vec4<f32> {
    return clip_in(p, globals.screen.xy);
}

fn clip_in(p: vec2<f32>, size: vec2<f32>) -> vec4<f32> {
    return vec4<f32>(p.x / size.x * 2.0 - 1.0, 1.0 - p.y / size.y * 2.0, 0.0, 1.0);
}

// Top left texel of map `slot`'s tile in the colour atlas.
fn atlas_origin(slot: u32) -> vec2<i32> {
    return vec2<i32>(i32((slot % ATLAS_COLS) * SIDE), i32((slot / ATLAS_COLS) * SIDE));
}

// Corner `i` of a quad drawn as two triangles.
fn corner(i: u32) -> vec2<f32> {
    let x = select(0.0, 1.0, i == 1u || i == 4u || i == 5u);
    let y = select(0.0, 1.0, i == 2u || i == 3u || i == 5u);
    return vec2<f32>(x, y);
}

// The sequential scale, as a sum over the segments between its stops: each
// segment adds its colour change times how much of it a value has passed.
// Straight-line arithmetic with one log2: finding a value's segment and
// reading its two stops (per-fragment indexing into the uniform), four log2s
// and two divisions cost a software rasteriser far more, and the colour pass
// was the largest part of a 1080p frame on lavapipe. The colour pass carries
// the scale to its fragments as flat inter-stage values (`ColourOut`), read
// there without the uniform's per-access cost; the legend reads it from the
// uniform (`scale_from_uniform`).
struct Scale {
    // the first stop: value, r, g, b
    first: vec4<f32>,
    // segment k = 1..7 (stop k - 1 to stop k): where it starts on its axis
    starts0: vec4<f32>,
    starts1: vec3<f32>,
    // segment k: 1 / its length on its axis, positive for a log2 axis (from a
    // positive stop), negative for the value's own axis (from a zero stop)
    reciprocals0: vec4<f32>,
    reciprocals1: vec3<f32>,
    // segment k: its colour change (zero past the last stop)
    d1: vec3<f32>,
    d2: vec3<f32>,
    d3: vec3<f32>,
    d4: vec3<f32>,
    d5: vec3<f32>,
    d6: vec3<f32>,
    d7: vec3<f32>,
};

// Segment k's reciprocal length, its sign naming its axis.
fn signed_reciprocal(k: u32) -> f32 {
    let s = globals.segments[k];
    return select(-s.y, s.y, s.z > 0.0);
}

// Segment k's colour change; zero past the last of `n` stops.
fn colour_change(k: u32, n: u32) -> vec3<f32> {
    return select(vec3<f32>(0.0), globals.stops[k].yzw - globals.stops[k - 1u].yzw, k < n);
}

fn scale_from_uniform() -> Scale {
    let n = clamp(u32(globals.screen.z), 1u, MAX_STOPS);
    let g = globals.segments;
    return Scale(
        globals.stops[0],
        vec4<f32>(g[1].x, g[2].x, g[3].x, g[4].x),
        vec3<f32>(g[5].x, g[6].x, g[7].x),
        vec4<f32>(signed_reciprocal(1u), signed_reciprocal(2u), signed_reciprocal(3u), signed_reciprocal(4u)),
        vec3<f32>(signed_reciprocal(5u), signed_reciprocal(6u), signed_reciprocal(7u)),
        colour_change(1u, n),
        colour_change(2u, n),
        colour_change(3u, n),
        colour_change(4u, n),
        colour_change(5u, n),
        colour_change(6u, n),
        colour_change(7u, n),
    );
}

// How much of a segment (starting at `start`, 1 / length `r`) a value has
// passed: `v` on its own axis, `lv` its log2.
fn passed(v: f32, lv: f32, start: f32, r: f32) -> f32 {
    return clamp((select(v, lv, r > 0.0) - start) * abs(r), 0.0, 1.0);
}

// The colour of `value`: linear from a zero stop, linear in log2 between
// positive stops, the last colour at and above the last stop, the first at
// and below the first (and for NaN). Equal to the CPU's `colour_on` to within
// float rounding, a stop's value its colour.
fn scale_colour_of(sc: Scale, value: f32) -> vec3<f32> {
    // Finite, so that the unused segments' zero lengths give 0, not NaN.
    let v = clamp(value, -3.0e38, 3.0e38);
    let lv = log2(max(v, 1.0e-30));
    var c = sc.first.yzw;
    c = c + sc.d1 * passed(v, lv, sc.starts0.x, sc.reciprocals0.x);
    c = c + sc.d2 * passed(v, lv, sc.starts0.y, sc.reciprocals0.y);
    c = c + sc.d3 * passed(v, lv, sc.starts0.z, sc.reciprocals0.z);
    c = c + sc.d4 * passed(v, lv, sc.starts0.w, sc.reciprocals0.w);
    c = c + sc.d5 * passed(v, lv, sc.starts1.x, sc.reciprocals1.x);
    c = c + sc.d6 * passed(v, lv, sc.starts1.y, sc.reciprocals1.y);
    c = c + sc.d7 * passed(v, lv, sc.starts1.z, sc.reciprocals1.z);
    return select(c, sc.first.yzw, !(value > sc.first.x));
}

// Position s (0..1) along the stops spaced evenly by index (the log and rank
// modes; `colour::ramp_colour` on the CPU), summed segment by segment.
fn ramp_colour_of(sc: Scale, s: f32) -> vec3<f32> {
    let n = clamp(u32(globals.screen.z), 2u, MAX_STOPS);
    // NaN: the first colour.
    let p = select(0.0, clamp(s, 0.0, 1.0), s == s) * f32(n - 1u);
    var c = sc.first.yzw;
    c = c + sc.d1 * clamp(p, 0.0, 1.0);
    c = c + sc.d2 * clamp(p - 1.0, 0.0, 1.0);
    c = c + sc.d3 * clamp(p - 2.0, 0.0, 1.0);
    c = c + sc.d4 * clamp(p - 3.0, 0.0, 1.0);
    c = c + sc.d5 * clamp(p - 4.0, 0.0, 1.0);
    c = c + sc.d6 * clamp(p - 5.0, 0.0, 1.0);
    c = c + sc.d7 * clamp(p - 6.0, 0.0, 1.0);
    return c;
}

fn scale_colour(value: f32) -> vec3<f32> {
    return scale_colour_of(scale_from_uniform(), value);
}

// The change view's diverging scale, linear in the log2 ratio between stops
// (branch-free like scale_colour).
fn diverging_colour(x: f32) -> vec3<f32> {
    let n = clamp(u32(globals.screen.w), 1u, MAX_STOPS);
    var j = 0u;
    for (var k = 1u; k < MAX_STOPS; k = k + 1u) {
        j = j + select(0u, 1u, k < n && x >= globals.diverging[k].x);
    }
    let a = globals.diverging[j];
    let b = globals.diverging[min(j + 1u, n - 1u)];
    let t = clamp((x - a.x) / (b.x - a.x), 0.0, 1.0);
    let c = select(a.yzw + (b.yzw - a.yzw) * t, a.yzw, j + 1u >= n);
    // NaN (no data) is neutral, not the coolest colour.
    let low = select(globals.diverging[0].yzw, globals.diverging[n / 2u].yzw, x != x);
    return select(c, low, !(x > globals.diverging[0].x));
}

fn rank_at(map: u32, k: u32) -> f32 {
    let i = map * RANK_BUCKETS + k;
    return globals.ranks[i / 4u][i % 4u];
}

// The scale position (0..1) of v by its rank among the map's non-zero cells:
// MapScale::rank_of.
fn rank_of(map: u32, v: f32) -> f32 {
    let p = globals.maps[map];
    let span = p.b.y - p.b.x;
    let pos = clamp((log2(v) - p.b.x) / span, 0.0, 1.0) * f32(RANK_BUCKETS);
    let k = min(u32(floor(pos)), RANK_BUCKETS - 1u);
    let t = clamp(pos - f32(k), 0.0, 1.0);
    let below = select(0.0, rank_at(map, max(k, 1u) - 1u), k > 0u);
    let r = RANK_FLOOR + (1.0 - RANK_FLOOR) * (below + (rank_at(map, k) - below) * t);
    return select(select(r, 1.0, !(span > 0.0)), 0.0, !(v > 0.0));
}

// ---- colour pass: one fragment per cell, into the atlas -----------------

struct ColourOut {
    @builtin(position) pos: vec4<f32>,
    @location(0) @interpolate(flat) slot: u32,
    // The scale (`Scale`, field by field: inter-stage values cannot be
    // structs), the same for every fragment.
    @location(1) @interpolate(flat) first: vec4<f32>,
    @location(2) @interpolate(flat) starts0: vec4<f32>,
    @location(3) @interpolate(flat) starts1: vec3<f32>,
    @location(4) @interpolate(flat) reciprocals0: vec4<f32>,
    @location(5) @interpolate(flat) reciprocals1: vec3<f32>,
    @location(6) @interpolate(flat) d1: vec3<f32>,
    @location(7) @interpolate(flat) d2: vec3<f32>,
    @location(8) @interpolate(flat) d3: vec3<f32>,
    @location(9) @interpolate(flat) d4: vec3<f32>,
    @location(10) @interpolate(flat) d5: vec3<f32>,
    @location(11) @interpolate(flat) d6: vec3<f32>,
    @location(12) @interpolate(flat) d7: vec3<f32>,
    // The map's gain (auto) and maximum (log): `MapParams.a.yz`.
    @location(13) @interpolate(flat) gain_max: vec2<f32>,
};

// Instance i covers map slot i's tile of the atlas.
@vertex
fn vs_colour(@builtin(vertex_index) vi: u32, @builtin(instance_index) slot: u32) -> ColourOut {
    var out: ColourOut;
    let origin = vec2<f32>(atlas_origin(slot));
    out.pos = clip_in(origin + corner(vi) * f32(SIDE), globals.atlas.xy);
    out.slot = slot;
    let sc = scale_from_uniform();
    out.first = sc.first;
    out.starts0 = sc.starts0;
    out.starts1 = sc.starts1;
    out.reciprocals0 = sc.reciprocals0;
    out.reciprocals1 = sc.reciprocals1;
    out.d1 = sc.d1;
    out.d2 = sc.d2;
    out.d3 = sc.d3;
    out.d4 = sc.d4;
    out.d5 = sc.d5;
    out.d6 = sc.d6;
    out.d7 = sc.d7;
    out.gain_max = globals.maps[min(slot, MAX_TILES - 1u)].a.yz;
    return out;
}

// The colour of the cell this fragment stands for, in the frame's scale mode.
@fragment
fn fs_colour(in: ColourOut) -> @location(0) vec4<f32> {
    let cell = vec2<i32>(floor(in.pos.xy)) - atlas_origin(in.slot);
    let map = min(in.slot, MAX_TILES - 1u);
    let v = textureLoad(maps, cell, i32(in.slot), 0).r;
    let sc = Scale(
        in.first, in.starts0, in.starts1, in.reciprocals0, in.reciprocals1,
        in.d1, in.d2, in.d3, in.d4, in.d5, in.d6, in.d7,
    );
    var rgb: vec3<f32>;
    if MODE == MODE_AUTO {
        rgb = scale_colour_of(sc, v * in.gain_max.x);
    } else if MODE == MODE_LOG {
        let top = in.gain_max.y;
        let s = select(0.0, log2(1.0 + v) / log2(1.0 + top), v > 0.0 && top > 0.0);
        rgb = ramp_colour_of(sc, s);
    } else if MODE == MODE_RANK {
        rgb = ramp_colour_of(sc, rank_of(map, v));
    } else if MODE == MODE_CHANGE {
        let p = globals.maps[map];
        let base = textureLoad(maps, cell, i32(p.b.z), 0).r;
        let eps = max(p.c.x, 1e-30);
        rgb = diverging_colour(log2((v * p.c.x + eps) / (base * p.c.y + eps)));
    } else {
        rgb = scale_colour_of(sc, v);
    }
    return vec4<f32>(rgb, 1.0);
}

// ---- maps: the atlas tiles drawn at screen size ---------------------------

struct MapOut {
    @builtin(position) pos: vec4<f32>,
    @location(0) @interpolate(flat) rect: vec4<f32>,
    @location(1) @interpolate(flat) slot: u32,
};

@vertex
fn vs_map(
    @builtin(vertex_index) vi: u32,
    @location(0) rect: vec4<f32>,
    @location(1) slot: u32,
) -> MapOut {
    var out: MapOut;
    out.pos = to_clip(rect.xy + corner(vi) * rect.zw);
    out.rect = rect;
    out.slot = slot;
    return out;
}

// How much a cell stands out, for max-pooling: its value, or in the change
// view how far its ratio to the baseline is from 1 (either way).
fn salience(slot: u32, cell: vec2<i32>) -> f32 {
    let p = globals.maps[min(slot, MAX_TILES - 1u)];
    let v = textureLoad(maps, cell, i32(slot), 0).r;
    if u32(p.a.x) == MODE_CHANGE {
        let base = textureLoad(maps, cell, i32(p.b.z), 0).r;
        let eps = max(p.c.x, 1e-30);
        return abs(log2((v * p.c.x + eps) / (base * p.c.y + eps)));
    }
    return v;
}

// Cells along a side one pixel may pool (a map down to 256 / MAX_POOL = 16
// pixels shows every cell).
const MAX_POOL: i32 = 16;

// A map at least 256 pixels wide: each pixel shows the one cell its centre
// falls in.
@fragment
fn fs_map(in: MapOut) -> @location(0) vec4<f32> {
    // Pixel centre to cell: the same sum as TileSlot::cell_at on the CPU.
    let rel = (in.pos.xy - in.rect.xy) * 256.0 / in.rect.zw;
    let cell = clamp(vec2<i32>(floor(rel)), vec2<i32>(0, 0), vec2<i32>(255, 255));
    return textureLoad(colours, atlas_origin(in.slot) + cell, 0);
}

// A map smaller than 256 pixels (a pipeline of its own, so that the larger
// maps never pay for the loop: on a software rasteriser they did, three
// times over, though they never ran it).
@fragment
fn fs_map_pooled(in: MapOut) -> @location(0) vec4<f32> {
    let rel = (in.pos.xy - in.rect.xy) * 256.0 / in.rect.zw;
    let cell = clamp(vec2<i32>(floor(rel)), vec2<i32>(0, 0), vec2<i32>(255, 255));
    // Smaller than 256 pixels: a pixel covers more than one cell, and sampling
    // one of them would hide the others (a whole row of a sweep could vanish).
    // A wall must never hide a cell, so the pixel shows the one that stands
    // out most among all it covers (max-pooling), in that cell's colour.
    // Edges times 256 first, then divided: whole numbers over the side, so an
    // edge that falls on a cell edge lands on it exactly (multiplying by a
    // rounded 256 / side could put it just below and take in one cell more).
    let left = in.pos.xy - 0.5 - in.rect.xy;
    let lo = clamp(vec2<i32>(floor(left * 256.0 / in.rect.zw)), vec2<i32>(0, 0), vec2<i32>(255, 255));
    // The small margin keeps a right edge within rounding of a cell edge
    // from taking in the next cell (a true overlap is at least 1 / side).
    let hi_f = ceil((left + 1.0) * 256.0 / in.rect.zw - 1e-3) - 1.0;
    let hi = clamp(vec2<i32>(hi_f), lo, min(lo + MAX_POOL - 1, vec2<i32>(255, 255)));
    var best = cell;
    var best_s = -1.0;
    for (var y = lo.y; y <= hi.y; y = y + 1) {
        for (var x = lo.x; x <= hi.x; x = x + 1) {
            let c = vec2<i32>(x, y);
            let s = salience(in.slot, c);
            if s > best_s {
                best_s = s;
                best = c;
            }
        }
    }
    return textureLoad(colours, atlas_origin(in.slot) + best, 0);
}

// ---- rectangles -------------------------------------------------------

struct RectOut {
    @builtin(position) pos: vec4<f32>,
    @location(0) @interpolate(flat) rect: vec4<f32>,
    @location(1) @interpolate(flat) colour: vec4<f32>,
    // kind (0 solid, 1 scale colour of v0, 2 scale gradient v0..v1 left to right,
    // 3 diverging colour of v0, 4 diverging gradient v0..v1), v0, v1
    @location(2) @interpolate(flat) params: vec4<f32>,
};

// Each rectangle comes six times, as plain vertices (one per corner of its
// two triangles; frame.rs says why not as instances).
@vertex
fn vs_rect(
    @builtin(vertex_index) vi: u32,
    @location(0) rect: vec4<f32>,
    @location(1) colour: vec4<f32>,
    @location(2) params: vec4<f32>,
) -> RectOut {
    var out: RectOut;
    out.pos = to_clip(rect.xy + corner(vi % 6u) * rect.zw);
    out.rect = rect;
    out.colour = colour;
    out.params = params;
    return out;
}

@fragment
fn fs_rect(in: RectOut) -> @location(0) vec4<f32> {
    let kind = u32(in.params.x);
    if kind == 1u {
        return vec4<f32>(scale_colour(in.params.y), 1.0);
    }
    if kind == 2u {
        let t = clamp((in.pos.x - in.rect.x) / max(in.rect.z, 1.0), 0.0, 1.0);
        let v0 = in.params.y;
        let v1 = in.params.z;
        var v: f32;
        if v0 <= 0.0 {
            v = mix(v0, v1, t);
        } else {
            v = exp2(mix(log2(v0), log2(v1), t));
        }
        return vec4<f32>(scale_colour(v), 1.0);
    }
    if kind == 3u {
        return vec4<f32>(diverging_colour(in.params.y), 1.0);
    }
    if kind == 4u {
        let t = clamp((in.pos.x - in.rect.x) / max(in.rect.z, 1.0), 0.0, 1.0);
        return vec4<f32>(diverging_colour(mix(in.params.y, in.params.z, t)), 1.0);
    }
    return in.colour;
}
