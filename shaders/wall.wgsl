// The wall's shader: colour-maps the counted values and draws flat rectangles.
//
// Everything is in pixels with the origin at the top left; instances carry
// their rectangles. The colour stops come from the Rust table
// (src/render/colour.rs) through the uniform, so legend and maps share them.

const MAX_STOPS: u32 = 8u;

struct Globals {
    // width, height (pixels), number of stops, unused
    screen: vec4<f32>,
    // per stop: value, r, g, b (sRGB, 0..1, written unchanged to a Unorm target)
    stops: array<vec4<f32>, 8>,
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
    let cell = clamp(vec2<i32>(floor(rel)), vec2<i32>(0, 0), vec2<i32>(255, 255));
    let v = textureLoad(maps, cell, i32(in.layer), 0).r;
    return vec4<f32>(scale_colour(v), 1.0);
}

// ---- rectangles -------------------------------------------------------

struct RectOut {
    @builtin(position) pos: vec4<f32>,
    @location(0) @interpolate(flat) rect: vec4<f32>,
    @location(1) @interpolate(flat) colour: vec4<f32>,
    // kind (0 solid, 1 scale colour of v0, 2 scale gradient v0..v1 left to right), v0, v1
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
    return in.colour;
}
