// The wall's shader: colour-maps the counted values and draws flat rectangles.
//
// Everything is in pixels with the origin at the top left; instances carry
// their rectangles. The colour stops come from the Rust table
// (src/render/colour.rs) through the uniform, so legend and maps share them.
// Per-map scale numbers (src/render/scale.rs) come through the same uniform,
// indexed by the map's texture layer.

const MAX_STOPS: u32 = 8u;
const MAX_TILES: u32 = 12u;
const RANK_BUCKETS: u32 = 256u;
// The lowest scale position of a non-zero cell in rank mode (scale.rs RANK_FLOOR).
const RANK_FLOOR: f32 = 0.071428571;

// Scale modes (MapParams.a.x), as in gpu.rs.
const MODE_PAPER: u32 = 0u;
const MODE_AUTO: u32 = 1u;
const MODE_LOG: u32 = 2u;
const MODE_RANK: u32 = 3u;
const MODE_CHANGE: u32 = 4u;

struct MapParams {
    // mode, gain (auto), max (log), order (1: Hilbert)
    a: vec4<f32>,
    // log2 lowest and highest non-zero value (rank), baseline layer (change), unused
    b: vec4<f32>,
    // short-term and baseline packets/s per unit value (change), unused, unused
    c: vec4<f32>,
};

struct Globals {
    // width, height (pixels), number of stops, number of diverging stops
    screen: vec4<f32>,
    // per stop: value, r, g, b (sRGB, 0..1, written unchanged to a Unorm target)
    stops: array<vec4<f32>, 8>,
    // the change view's scale: log2 ratio, r, g, b
    diverging: array<vec4<f32>, 8>,
    maps: array<MapParams, 12>,
    // per map, RANK_BUCKETS cumulative fractions, four to a vector
    ranks: array<vec4<f32>, 768>,
};

@group(0) @binding(0) var<uniform> globals: Globals;
@group(0) @binding(1) var maps: texture_2d_array<f32>;

fn to_clip(p: vec2<f32>) -> vec4<f32> {
    return vec4<f32>(
        p.x / globals.screen.x * 2.0 - 1.0,
        1.0 - p.y / globals.screen.y * 2.0,
        0.0,
        1.0,
    );
}

// Corner `i` of a quad drawn as two triangles.
fn corner(i: u32) -> vec2<f32> {
    let x = select(0.0, 1.0, i == 1u || i == 4u || i == 5u);
    let y = select(0.0, 1.0, i == 2u || i == 3u || i == 5u);
    return vec2<f32>(x, y);
}

// The scale: linear from a zero stop, linear in log2 between positive stops,
// the last colour at and above the last stop. A value equal to a stop gets
// exactly that stop's colour (t is exactly 0 at the segment start).
fn scale_colour(v: f32) -> vec3<f32> {
    let n = min(u32(globals.screen.z), MAX_STOPS);
    let first = globals.stops[0];
    // `!(v > x)` also sends NaN to the first stop.
    if !(v > first.x) {
        return first.yzw;
    }
    for (var i = 1u; i < n; i = i + 1u) {
        let b = globals.stops[i];
        if v < b.x {
            let a = globals.stops[i - 1u];
            var t: f32;
            if a.x <= 0.0 {
                t = (v - a.x) / (b.x - a.x);
            } else {
                t = (log2(v) - log2(a.x)) / (log2(b.x) - log2(a.x));
            }
            t = clamp(t, 0.0, 1.0);
            return a.yzw + (b.yzw - a.yzw) * t;
        }
    }
    return globals.stops[n - 1u].yzw;
}

// Position s (0..1) along the stops spaced evenly by index (log and rank modes).
fn ramp_colour(s: f32) -> vec3<f32> {
    let n = min(u32(globals.screen.z), MAX_STOPS);
    let p = clamp(s, 0.0, 1.0) * f32(n - 1u);
    let i = min(u32(floor(p)), n - 2u);
    let t = clamp(p - f32(i), 0.0, 1.0);
    return globals.stops[i].yzw + (globals.stops[i + 1u].yzw - globals.stops[i].yzw) * t;
}

// The change view's diverging scale, linear in the log2 ratio between stops.
fn diverging_colour(x: f32) -> vec3<f32> {
    let n = min(u32(globals.screen.w), MAX_STOPS);
    let first = globals.diverging[0];
    if !(x > first.x) {
        // NaN (no data) is neutral, not the coolest colour.
        if x != x {
            return globals.diverging[n / 2u].yzw;
        }
        return first.yzw;
    }
    for (var i = 1u; i < n; i = i + 1u) {
        let b = globals.diverging[i];
        if x < b.x {
            let a = globals.diverging[i - 1u];
            let t = clamp((x - a.x) / (b.x - a.x), 0.0, 1.0);
            return a.yzw + (b.yzw - a.yzw) * t;
        }
    }
    return globals.diverging[n - 1u].yzw;
}

fn rank_at(map: u32, k: u32) -> f32 {
    let i = map * RANK_BUCKETS + k;
    return globals.ranks[i / 4u][i % 4u];
}

// The scale position (0..1) of v by its rank among the map's non-zero cells:
// MapScale::rank_of.
fn rank_of(map: u32, v: f32) -> f32 {
    if !(v > 0.0) {
        return 0.0;
    }
    let p = globals.maps[map];
    let span = p.b.y - p.b.x;
    if !(span > 0.0) {
        return 1.0;
    }
    let pos = clamp((log2(v) - p.b.x) / span, 0.0, 1.0) * f32(RANK_BUCKETS);
    let k = min(u32(floor(pos)), RANK_BUCKETS - 1u);
    let t = clamp(pos - f32(k), 0.0, 1.0);
    var below = 0.0;
    if k > 0u {
        below = rank_at(map, k - 1u);
    }
    return RANK_FLOOR + (1.0 - RANK_FLOOR) * (below + (rank_at(map, k) - below) * t);
}

// Position along the order-8 Hilbert curve of cell (x, y): hilbert::xy2d.
fn hilbert_d(px: u32, py: u32) -> u32 {
    var x = px;
    var y = py;
    var d = 0u;
    var s = 128u;
    loop {
        if s == 0u {
            break;
        }
        let rx = select(0u, 1u, (x & s) > 0u);
        let ry = select(0u, 1u, (y & s) > 0u);
        d = d + s * s * ((3u * rx) ^ ry);
        if ry == 0u {
            if rx == 1u {
                x = 255u - x;
                y = 255u - y;
            }
            let t = x;
            x = y;
            y = t;
        }
        s = s / 2u;
    }
    return d;
}

// ---- maps -------------------------------------------------------------

struct MapOut {
    @builtin(position) pos: vec4<f32>,
    @location(0) @interpolate(flat) rect: vec4<f32>,
    @location(1) @interpolate(flat) layer: u32,
};

@vertex
fn vs_map(
    @builtin(vertex_index) vi: u32,
    @location(0) rect: vec4<f32>,
    @location(1) layer: u32,
) -> MapOut {
    var out: MapOut;
    out.pos = to_clip(rect.xy + corner(vi) * rect.zw);
    out.rect = rect;
    out.layer = layer;
    return out;
}

@fragment
fn fs_map(in: MapOut) -> @location(0) vec4<f32> {
    // Pixel centre to cell: the same sum as TileSlot::cell_at on the CPU.
    let rel = (in.pos.xy - in.rect.xy) * 256.0 / in.rect.zw;
    var cell = clamp(vec2<i32>(floor(rel)), vec2<i32>(0, 0), vec2<i32>(255, 255));
    let map = min(in.layer, MAX_TILES - 1u);
    let p = globals.maps[map];
    if p.a.w > 0.5 {
        // cell is (column, row); the key along the curve picks the texel.
        let d = hilbert_d(u32(cell.x), u32(cell.y));
        cell = vec2<i32>(i32(d & 255u), i32(d >> 8u));
    }
    let v = textureLoad(maps, cell, i32(in.layer), 0).r;
    let mode = u32(p.a.x);
    if mode == MODE_AUTO {
        return vec4<f32>(scale_colour(v * p.a.y), 1.0);
    }
    if mode == MODE_LOG {
        var s = 0.0;
        if v > 0.0 && p.a.z > 0.0 {
            s = log2(1.0 + v) / log2(1.0 + p.a.z);
        }
        return vec4<f32>(ramp_colour(s), 1.0);
    }
    if mode == MODE_RANK {
        return vec4<f32>(ramp_colour(rank_of(map, v)), 1.0);
    }
    if mode == MODE_CHANGE {
        let base = textureLoad(maps, cell, i32(p.b.z), 0).r;
        let eps = max(p.c.x, 1e-30);
        let x = log2((v * p.c.x + eps) / (base * p.c.y + eps));
        return vec4<f32>(diverging_colour(x), 1.0);
    }
    return vec4<f32>(scale_colour(v), 1.0);
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

@vertex
fn vs_rect(
    @builtin(vertex_index) vi: u32,
    @location(0) rect: vec4<f32>,
    @location(1) colour: vec4<f32>,
    @location(2) params: vec4<f32>,
) -> RectOut {
    var out: RectOut;
    out.pos = to_clip(rect.xy + corner(vi) * rect.zw);
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
