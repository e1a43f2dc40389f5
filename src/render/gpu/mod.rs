//! The wgpu side: adapter choice, pipelines, the per-frame upload and draw,
//! and reading a frame back as an image.
//!
//! A frame is two steps on the GPU. The colour pass colours every shown map
//! once, a fragment per cell, into its 256 x 256 tile of the colour atlas (a
//! texture of the target's format); the wall pass then draws the maps'
//! rectangles by fetching cells from the atlas. So the scale arithmetic costs
//! 65,536 fragments per map at any screen size, and where a map is shown at
//! exactly one pixel per cell (six maps at 1920x1080) and the target allows
//! copies, its tile is copied into place instead of drawn. On a software
//! rasteriser (lavapipe) this is most of a frame's cost; see
//! docs/performance.md.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::colour::{DIVERGING_SCALE, MAX_STOPS};
use super::image::RgbaImage;
use super::scale::{MapScale, MapView, RANK_BUCKETS, ScaleMode};
use super::scene::{self, MapInstance, RectInstance};
use super::text::TextSystem;
use super::{FrameInput, RenderError};
use super::{TileInput, ViewState};
use crate::maps::{CELLS, SIDE};

use std::sync::OnceLock;

/// The shader source, compiled into the binary.
const SHADER: &str = include_str!("../../shaders/wall.wgsl");

/// Which adapters to consider.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AdapterChoice {
    /// Hardware first; a software renderer (lavapipe, llvmpipe) only when no
    /// GPU is found.
    #[default]
    PreferHardware,
    /// Software only: reproducible pictures in tests and CI.
    Software,
}

impl AdapterChoice {
    /// `SCANWALL_SOFTWARE_GPU=1` forces software rendering (for reproducible
    /// snapshots); otherwise hardware is preferred.
    pub fn from_env() -> Self {
        match std::env::var("SCANWALL_SOFTWARE_GPU") {
            Ok(v) if !v.is_empty() && v != "0" => AdapterChoice::Software,
            _ => AdapterChoice::PreferHardware,
        }
    }
}

/// An open GPU device and what it came from. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Gpu {
    /// The instance (needed to recreate a lost window surface).
    pub instance: wgpu::Instance,
    /// The chosen adapter.
    pub adapter: wgpu::Adapter,
    /// The device everything is created on.
    pub device: wgpu::Device,
    /// Its queue.
    pub queue: wgpu::Queue,
    lost: Arc<AtomicBool>,
}

/// The features GPU timestamps need, queries written between command buffers
/// included (see [`Gpu::headless_with_timestamps`]).
pub const TIMESTAMPS: wgpu::Features =
    wgpu::Features::TIMESTAMP_QUERY.union(wgpu::Features::TIMESTAMP_QUERY_INSIDE_ENCODERS);

/// Backends to try: all this platform has, or `WGPU_BACKEND` (e.g. `gl`).
fn backends() -> wgpu::Backends {
    wgpu::Backends::all().with_env()
}

/// Rank of an adapter type: lower is preferred.
fn rank(info: &wgpu::AdapterInfo) -> (u8, u8) {
    let kind = match info.device_type {
        wgpu::DeviceType::DiscreteGpu => 0,
        wgpu::DeviceType::IntegratedGpu => 1,
        wgpu::DeviceType::VirtualGpu => 2,
        wgpu::DeviceType::Other => 3,
        wgpu::DeviceType::Cpu => 4,
    };
    let backend = match info.backend {
        wgpu::Backend::Vulkan | wgpu::Backend::Metal | wgpu::Backend::Dx12 => 0,
        _ => 1,
    };
    (kind, backend)
}

impl Gpu {
    /// A device for offscreen rendering, no window or display needed.
    pub fn headless(choice: AdapterChoice) -> Result<Gpu, RenderError> {
        Self::headless_with(choice, wgpu::Features::empty())
    }

    /// [`Gpu::headless`] with GPU timestamps (queries, also between command
    /// buffers) where the adapter has them: the render benchmark reads the
    /// GPU's own time per frame from them, which wall-clock time hides
    /// behind submission and waiting. Without them the device has neither.
    pub fn headless_with_timestamps(choice: AdapterChoice) -> Result<Gpu, RenderError> {
        Self::headless_with(choice, TIMESTAMPS)
    }

    /// A headless device with the `optional` features the adapter has.
    fn headless_with(choice: AdapterChoice, optional: wgpu::Features) -> Result<Gpu, RenderError> {
        let desc = wgpu::InstanceDescriptor {
            backends: backends(),
            ..wgpu::InstanceDescriptor::new_without_display_handle()
        };
        let instance = wgpu::Instance::new(desc.with_env());
        Self::open(instance, None, choice, optional)
    }

    /// [`Gpu::headless`] on the given backends only, ignoring `WGPU_BACKEND`
    /// (tests render on Vulkan and on GL, whose traps differ).
    pub fn headless_on(backends: wgpu::Backends, choice: AdapterChoice) -> Result<Gpu, RenderError> {
        let instance = wgpu::Instance::new(wgpu::InstanceDescriptor {
            backends,
            ..wgpu::InstanceDescriptor::new_without_display_handle()
        });
        Self::open(instance, None, choice, wgpu::Features::empty())
    }

    /// A device that can present to `surface`, created on `instance` (which,
    /// for GL, must have been given the display handle).
    pub fn for_surface(
        instance: wgpu::Instance,
        surface: &wgpu::Surface<'_>,
        choice: AdapterChoice,
    ) -> Result<Gpu, RenderError> {
        Self::open(instance, Some(surface), choice, wgpu::Features::empty())
    }

    /// Instance options for a window: all backends (or `WGPU_BACKEND`), with
    /// the display handle GL needs to find an adapter for the surface.
    pub fn window_instance_descriptor(
        display: Box<dyn wgpu::wgt::WgpuHasDisplayHandle>,
    ) -> wgpu::InstanceDescriptor {
        let desc = wgpu::InstanceDescriptor {
            backends: backends(),
            ..wgpu::InstanceDescriptor::new_with_display_handle(display)
        };
        desc.with_env()
    }

    fn open(
        instance: wgpu::Instance,
        surface: Option<&wgpu::Surface<'_>>,
        choice: AdapterChoice,
        optional: wgpu::Features,
    ) -> Result<Gpu, RenderError> {
        let adapter = pollster::block_on(pick_adapter(&instance, surface, choice))?;
        let features = optional & adapter.features();
        let limits = wgpu::Limits::downlevel_webgl2_defaults().using_resolution(adapter.limits());
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("scanwall"),
            required_features: features,
            required_limits: limits,
            experimental_features: wgpu::ExperimentalFeatures::default(),
            memory_hints: wgpu::MemoryHints::MemoryUsage,
            trace: wgpu::Trace::Off,
        }))?;
        let lost = Arc::new(AtomicBool::new(false));
        let flag = lost.clone();
        device.set_device_lost_callback(move |_, _| flag.store(true, Ordering::SeqCst));
        Ok(Gpu {
            instance,
            adapter,
            device,
            queue,
            lost,
        })
    }

    /// Whether the device was lost (driver reset, GPU removed): the owner
    /// should open a new [`Gpu`] and renderer.
    pub fn is_lost(&self) -> bool {
        self.lost.load(Ordering::SeqCst)
    }

    /// The adapter, as a person names it (e.g. "llvmpipe (LLVM 15.0.6) on Vulkan").
    pub fn describe(&self) -> String {
        let info = self.adapter.get_info();
        format!("{} ({:?}) on {:?}", info.name, info.device_type, info.backend)
    }
}

async fn pick_adapter(
    instance: &wgpu::Instance,
    surface: Option<&wgpu::Surface<'_>>,
    choice: AdapterChoice,
) -> Result<wgpu::Adapter, RenderError> {
    let mut seen = Vec::new();
    let mut candidates = Vec::new();
    for adapter in instance.enumerate_adapters(wgpu::Backends::all()).await {
        let info = adapter.get_info();
        seen.push(format!(
            "{} ({:?}, {:?})",
            info.name, info.device_type, info.backend
        ));
        if surface.is_some_and(|s| !adapter.is_surface_supported(s)) {
            continue;
        }
        if choice == AdapterChoice::Software && info.device_type != wgpu::DeviceType::Cpu {
            continue;
        }
        candidates.push(adapter);
    }
    candidates.sort_by_key(|a| rank(&a.get_info()));
    if let Some(best) = candidates.into_iter().next() {
        return Ok(best);
    }
    // Some platforms only expose their software adapter through the fallback request.
    let fallback = instance
        .request_adapter(&wgpu::RequestAdapterOptions {
            power_preference: wgpu::PowerPreference::HighPerformance,
            force_fallback_adapter: true,
            compatible_surface: surface,
            apply_limit_buckets: false,
        })
        .await;
    fallback.map_err(|e| {
        let seen = if seen.is_empty() {
            "none at all".to_owned()
        } else {
            format!("unsuitable: {}", seen.join("; "))
        };
        RenderError::NoAdapter(format!("{seen}; fallback request: {e}"))
    })
}

/// Most maps the uniform carries scale numbers for (the catalogue has nine).
pub(crate) const MAX_TILES: usize = 12;
/// Vectors of four floats in the uniform: screen, atlas, stops, diverging
/// stops, three per map, then the rank tables (matches `Globals` in the shader).
const GLOBALS_VEC4: usize = 2 + 2 * MAX_STOPS + 3 * MAX_TILES + MAX_TILES * RANK_BUCKETS / 4;
const ATLAS_AT: usize = 1;
const STOPS_AT: usize = 2;
const DIVERGING_AT: usize = STOPS_AT + MAX_STOPS;
const MAPS_AT: usize = DIVERGING_AT + MAX_STOPS;
const RANKS_AT: usize = MAPS_AT + 3 * MAX_TILES;

/// Map tiles per row of the colour atlas (`ATLAS_COLS` in the shader).
const ATLAS_COLS: u32 = 4;

/// Scale mode codes of the shader's `MapParams.a.x` and `MODE`.
const MODE_PAPER: f32 = 0.0;
const MODE_AUTO: f32 = 1.0;
const MODE_LOG: f32 = 2.0;
const MODE_RANK: f32 = 3.0;
const MODE_CHANGE: f32 = 4.0;
/// Colour pass pipelines, one per mode code.
const MODES: usize = 5;

/// The mode code the maps of a frame of `view` are coloured in: the change
/// view when baselines are drawn (`change`), else the view's scale mode.
fn mode_code(view: &ViewState, change: bool) -> f32 {
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

/// The uniform shared by all pipelines, as vectors of four floats: the
/// target and atlas sizes, the colour tables of the view and, per drawn map
/// (in slot order), its scale numbers. `baseline_layer(i)` is where map i's
/// baseline was uploaded, when the change view is drawn.
fn globals(
    width: u32,
    height: u32,
    atlas: (u32, u32),
    view: &ViewState,
    tiles: &[&TileInput<'_>],
    baseline_layer: Option<&dyn Fn(usize) -> u32>,
) -> Vec<[f32; 4]> {
    let mut g = vec![[0.0f32; 4]; GLOBALS_VEC4];
    let rgb = |c: [u8; 3]| c.map(|v| f32::from(v) / 255.0);
    let stops = view.colours.stops();
    for (i, s) in stops.iter().enumerate() {
        let [r, gr, b] = rgb(s.rgb);
        g[STOPS_AT + i] = [s.value, r, gr, b];
    }
    for (i, s) in DIVERGING_SCALE.iter().enumerate() {
        let [r, gr, b] = rgb(s.rgb);
        g[DIVERGING_AT + i] = [s.value, r, gr, b];
    }
    g[0] = [
        width as f32,
        height as f32,
        stops.len() as f32,
        DIVERGING_SCALE.len() as f32,
    ];
    g[ATLAS_AT] = [atlas.0 as f32, atlas.1 as f32, 0.0, 0.0];
    let empty = MapScale::default();
    let mode = mode_code(view, baseline_layer.is_some());
    for (i, tile) in tiles.iter().take(MAX_TILES).enumerate() {
        let scale = tile.scale.unwrap_or(&empty);
        let base = match baseline_layer {
            Some(layer) if mode == MODE_CHANGE => layer(i) as f32,
            _ => 0.0,
        };
        g[MAPS_AT + 3 * i] = [mode, scale.gain, scale.max, 0.0];
        g[MAPS_AT + 3 * i + 1] = [scale.rank_lo, scale.rank_hi, base, 0.0];
        g[MAPS_AT + 3 * i + 2] = [scale.short_rate, scale.baseline_rate, 0.0, 0.0];
        let ranks = &mut g[RANKS_AT + i * RANK_BUCKETS / 4..RANKS_AT + (i + 1) * RANK_BUCKETS / 4];
        for (out, chunk) in ranks.iter_mut().zip(scale.rank_cdf.chunks_exact(4)) {
            out.copy_from_slice(chunk);
        }
    }
    g
}

/// Layers to allocate for `shown` maps: at least 2 (a 1-layer array may be
/// bound as a plain 2D texture on GL) and never a multiple of 6 (GL turns a
/// square array of 6k layers into a cube map and the array view reads black).
pub(crate) fn layer_count(shown: usize) -> u32 {
    let mut n = shown.max(2) as u32;
    if n.is_multiple_of(6) {
        n += 1;
    }
    n
}

/// Draws frames into textures of one format: the window's surface or an
/// offscreen image. Holds the pipelines, the map textures and the text.
pub struct WallRenderer {
    format: wgpu::TextureFormat,
    module: wgpu::ShaderModule,
    /// Group 0: the uniform and the map values (every pipeline).
    layout: wgpu::BindGroupLayout,
    /// Group 1: the colour atlas (the wall pass only).
    atlas_layout: wgpu::BindGroupLayout,
    colour_pipeline_layout: wgpu::PipelineLayout,
    /// The colour pass, per scale mode code, built when first needed.
    colour_pipelines: [Option<wgpu::RenderPipeline>; MODES],
    map_pipeline: wgpu::RenderPipeline,
    rect_pipeline: wgpu::RenderPipeline,
    globals: wgpu::Buffer,
    maps: wgpu::Texture,
    layers: u32,
    bind_group: wgpu::BindGroup,
    atlas: Atlas,
    rects: wgpu::Buffer,
    map_quads: wgpu::Buffer,
    /// Reused every frame: a map permuted for upload, the rectangles and map
    /// quads as drawn, the maps copied instead of drawn.
    staging: Vec<f32>,
    /// Staging memory for the maps' upload, reused once the GPU has copied it.
    upload: wgpu::util::StagingBelt,
    rect_list: Vec<RectInstance>,
    quad_list: Vec<MapInstance>,
    /// The last frame's scene, whose lists the next frame's is built into.
    scene: scene::Scene,
    copies: Vec<(u32, u32, u32)>,
    /// The target and readback buffer of `render_to_image`, kept for the
    /// next call of the same size (snapshots in a loop, `soak`).
    offscreen: Option<Offscreen>,
    text: TextSystem,
}

/// An offscreen frame and the buffer it is read back through.
struct Offscreen {
    texture: wgpu::Texture,
    view: wgpu::TextureView,
    buffer: wgpu::Buffer,
    /// Bytes per row in `buffer` (rows are padded to 256 bytes).
    padded_row: u32,
}

impl Offscreen {
    fn new(device: &wgpu::Device, format: wgpu::TextureFormat, width: u32, height: u32) -> Offscreen {
        let texture = device.create_texture(&wgpu::TextureDescriptor {
            label: Some("offscreen frame"),
            size: wgpu::Extent3d {
                width,
                height,
                depth_or_array_layers: 1,
            },
            mip_level_count: 1,
            sample_count: 1,
            dimension: wgpu::TextureDimension::D2,
            format,
            usage: wgpu::TextureUsages::RENDER_ATTACHMENT
                | wgpu::TextureUsages::COPY_SRC
                | wgpu::TextureUsages::COPY_DST,
            view_formats: &[],
        });
        let view = texture.create_view(&wgpu::TextureViewDescriptor::default());
        let align = wgpu::COPY_BYTES_PER_ROW_ALIGNMENT;
        let padded_row = (width * 4).div_ceil(align) * align;
        let buffer = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("readback"),
            size: u64::from(padded_row) * u64::from(height),
            usage: wgpu::BufferUsages::COPY_DST | wgpu::BufferUsages::MAP_READ,
            mapped_at_creation: false,
        });
        Offscreen {
            texture,
            view,
            buffer,
            padded_row,
        }
    }
}

/// The colour atlas: map slot i's colours at texels
/// ((i % ATLAS_COLS) * 256, (i / ATLAS_COLS) * 256) + (column, row). It has
/// the target's format, so a texel copied or fetched into the target is
/// exactly what drawing that colour there would have written. (At 4 tiles a
/// row it holds 32 maps within the smallest texture size a device allows;
/// the catalogue has nine.)
struct Atlas {
    texture: wgpu::Texture,
    bind_group: wgpu::BindGroup,
    rows: u32,
}

impl Atlas {
    fn new(
        device: &wgpu::Device,
        layout: &wgpu::BindGroupLayout,
        format: wgpu::TextureFormat,
        rows: u32,
    ) -> Atlas {
        let side = SIDE as u32;
        let texture = device.create_texture(&wgpu::TextureDescriptor {
            label: Some("map colours"),
            size: wgpu::Extent3d {
                width: ATLAS_COLS * side,
                height: rows * side,
                depth_or_array_layers: 1,
            },
            mip_level_count: 1,
            sample_count: 1,
            dimension: wgpu::TextureDimension::D2,
            format,
            usage: wgpu::TextureUsages::RENDER_ATTACHMENT
                | wgpu::TextureUsages::TEXTURE_BINDING
                | wgpu::TextureUsages::COPY_SRC,
            view_formats: &[],
        });
        let view = texture.create_view(&wgpu::TextureViewDescriptor::default());
        let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("map colours"),
            layout,
            entries: &[wgpu::BindGroupEntry {
                binding: 0,
                resource: wgpu::BindingResource::TextureView(&view),
            }],
        });
        Atlas {
            texture,
            bind_group,
            rows,
        }
    }

    fn size(&self) -> (u32, u32) {
        (self.texture.width(), self.texture.height())
    }

    /// Top left texel of slot `i`'s tile.
    fn origin(i: u32) -> (u32, u32) {
        let side = SIDE as u32;
        ((i % ATLAS_COLS) * side, (i / ATLAS_COLS) * side)
    }
}

/// Rows of the colour atlas for `shown` maps.
fn atlas_rows(shown: usize) -> u32 {
    (shown as u32).div_ceil(ATLAS_COLS).max(1)
}

/// Where cell i of a map drawn along the Hilbert curve (row-major in the
/// picture: row * 256 + column) finds its value: the key `hilbert::xy2d`
/// gives that cell. The upload permutes such maps once, so the shader only
/// ever reads pictures.
fn curve_order() -> &'static [u16] {
    static ORDER: OnceLock<Vec<u16>> = OnceLock::new();
    ORDER.get_or_init(|| {
        let side = SIDE as u16;
        (0..side)
            .flat_map(|row| (0..side).map(move |col| crate::hilbert::xy2d(col, row)))
            .collect()
    })
}

/// Copies one map's values into `dst` (one layer, picture order): row-major
/// as given, or permuted along the curve. Missing values are zero.
fn stage_map(dst: &mut [f32], src: &[f32], curve: bool) {
    if curve {
        for (d, &key) in dst.iter_mut().zip(curve_order()) {
            *d = src.get(usize::from(key)).copied().unwrap_or(0.0);
        }
    } else {
        let n = src.len().min(dst.len());
        dst[..n].copy_from_slice(&src[..n]);
        dst[n..].fill(0.0);
    }
}

fn instance_buffer(device: &wgpu::Device, label: &str, size: u64) -> wgpu::Buffer {
    device.create_buffer(&wgpu::BufferDescriptor {
        label: Some(label),
        size: size.max(256),
        usage: wgpu::BufferUsages::VERTEX | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    })
}

/// Writes `bytes` at the start of `buffer`, growing it (to a power of two)
/// when they do not fit.
fn write_instances(gpu: &Gpu, buffer: &mut wgpu::Buffer, label: &str, bytes: &[u8]) {
    if bytes.len() as u64 > buffer.size() {
        *buffer = instance_buffer(&gpu.device, label, (bytes.len() as u64).next_power_of_two());
    }
    if !bytes.is_empty() {
        gpu.queue.write_buffer(buffer, 0, bytes);
    }
}

fn map_texture(device: &wgpu::Device, layers: u32) -> wgpu::Texture {
    device.create_texture(&wgpu::TextureDescriptor {
        label: Some("map values"),
        size: wgpu::Extent3d {
            width: SIDE as u32,
            height: SIDE as u32,
            depth_or_array_layers: layers,
        },
        mip_level_count: 1,
        sample_count: 1,
        dimension: wgpu::TextureDimension::D2,
        format: wgpu::TextureFormat::R32Float,
        usage: wgpu::TextureUsages::TEXTURE_BINDING | wgpu::TextureUsages::COPY_DST,
        view_formats: &[],
    })
}

fn bind_group(
    device: &wgpu::Device,
    layout: &wgpu::BindGroupLayout,
    globals: &wgpu::Buffer,
    maps: &wgpu::Texture,
) -> wgpu::BindGroup {
    let view = maps.create_view(&wgpu::TextureViewDescriptor {
        dimension: Some(wgpu::TextureViewDimension::D2Array),
        ..Default::default()
    });
    device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: Some("wall"),
        layout,
        entries: &[
            wgpu::BindGroupEntry {
                binding: 0,
                resource: globals.as_entire_binding(),
            },
            wgpu::BindGroupEntry {
                binding: 1,
                resource: wgpu::BindingResource::TextureView(&view),
            },
        ],
    })
}

/// A fragment-stage binding of an unfilterable 2D texture (or array).
fn texture_entry(binding: u32, view_dimension: wgpu::TextureViewDimension) -> wgpu::BindGroupLayoutEntry {
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::FRAGMENT,
        ty: wgpu::BindingType::Texture {
            sample_type: wgpu::TextureSampleType::Float { filterable: false },
            view_dimension,
            multisampled: false,
        },
        count: None,
    }
}

/// Whether map tiles can be copied into `target` (a `width` x `height` view
/// drawn in `format`) instead of drawn: the view is all of a plain texture of
/// that format that accepts copies.
fn copies_allowed(target: &wgpu::TextureView, format: wgpu::TextureFormat, width: u32, height: u32) -> bool {
    let t = target.texture();
    t.usage().contains(wgpu::TextureUsages::COPY_DST)
        && t.format() == format
        && t.dimension() == wgpu::TextureDimension::D2
        && t.sample_count() == 1
        && t.mip_level_count() == 1
        && t.depth_or_array_layers() == 1
        && (t.width(), t.height()) == (width, height)
}

/// The pixel origin of `quad` when it shows its map at exactly one pixel per
/// cell, wholly inside a `width` x `height` target: then its atlas tile can
/// be copied into place, texel for pixel, instead of drawn.
fn copy_origin(quad: &MapInstance, width: u32, height: u32) -> Option<(u32, u32)> {
    let [x, y, w, h] = quad.rect;
    let side = SIDE as f32;
    let fits = w == side
        && h == side
        && x >= 0.0
        && y >= 0.0
        && x.fract() == 0.0
        && y.fract() == 0.0
        && x + side <= width as f32
        && y + side <= height as f32;
    // Whole, non-negative and inside the target: the casts are exact (and
    // saturate harmlessly where it does not fit).
    fits.then_some((x as u32, y as u32))
}

impl WallRenderer {
    /// A renderer for targets of `format`. Use a non-sRGB format
    /// (`Rgba8Unorm`, `Bgra8Unorm`) so stop colours land exactly.
    pub fn new(gpu: &Gpu, format: wgpu::TextureFormat) -> WallRenderer {
        let device = &gpu.device;
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("wall.wgsl"),
            source: wgpu::ShaderSource::Wgsl(SHADER.into()),
        });
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("wall"),
            entries: &[
                wgpu::BindGroupLayoutEntry {
                    binding: 0,
                    visibility: wgpu::ShaderStages::VERTEX_FRAGMENT,
                    ty: wgpu::BindingType::Buffer {
                        ty: wgpu::BufferBindingType::Uniform,
                        has_dynamic_offset: false,
                        min_binding_size: None,
                    },
                    count: None,
                },
                texture_entry(1, wgpu::TextureViewDimension::D2Array),
            ],
        });
        let atlas_layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("map colours"),
            entries: &[texture_entry(0, wgpu::TextureViewDimension::D2)],
        });
        let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("wall"),
            bind_group_layouts: &[Some(&layout), Some(&atlas_layout)],
            immediate_size: 0,
        });
        let colour_pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("map colours"),
            bind_group_layouts: &[Some(&layout)],
            immediate_size: 0,
        });
        let rect_attrs = wgpu::vertex_attr_array![0 => Float32x4, 1 => Float32x4, 2 => Float32x4];
        let map_attrs = wgpu::vertex_attr_array![0 => Float32x4, 1 => Uint32];
        let pipeline = |label: &str,
                        vs: &str,
                        fs: &str,
                        stride: usize,
                        attrs: &[wgpu::VertexAttribute],
                        blend: wgpu::BlendState| {
            device.create_render_pipeline(&wgpu::RenderPipelineDescriptor {
                label: Some(label),
                layout: Some(&pipeline_layout),
                vertex: wgpu::VertexState {
                    module: &module,
                    entry_point: Some(vs),
                    compilation_options: Default::default(),
                    buffers: &[Some(wgpu::VertexBufferLayout {
                        array_stride: stride as u64,
                        step_mode: wgpu::VertexStepMode::Instance,
                        attributes: attrs,
                    })],
                },
                primitive: wgpu::PrimitiveState::default(),
                depth_stencil: None,
                multisample: wgpu::MultisampleState::default(),
                fragment: Some(wgpu::FragmentState {
                    module: &module,
                    entry_point: Some(fs),
                    compilation_options: Default::default(),
                    targets: &[Some(wgpu::ColorTargetState {
                        format,
                        blend: Some(blend),
                        write_mask: wgpu::ColorWrites::ALL,
                    })],
                }),
                multiview_mask: None,
                cache: None,
            })
        };
        let map_pipeline = pipeline(
            "maps",
            "vs_map",
            "fs_map",
            std::mem::size_of::<MapInstance>(),
            &map_attrs,
            wgpu::BlendState::REPLACE,
        );
        let rect_pipeline = pipeline(
            "rects",
            "vs_rect",
            "fs_rect",
            std::mem::size_of::<RectInstance>(),
            &rect_attrs,
            wgpu::BlendState::ALPHA_BLENDING,
        );
        let globals = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("globals"),
            size: (GLOBALS_VEC4 * 16) as u64,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let layers = layer_count(0);
        let maps = map_texture(device, layers);
        let bind_group = bind_group(device, &layout, &globals, &maps);
        let atlas = Atlas::new(device, &atlas_layout, format, atlas_rows(0));
        WallRenderer {
            format,
            module,
            map_pipeline,
            rect_pipeline,
            colour_pipelines: Default::default(),
            colour_pipeline_layout,
            bind_group,
            rects: instance_buffer(device, "rects", 64 * 1024),
            map_quads: instance_buffer(device, "map quads", 1024),
            layout,
            atlas_layout,
            globals,
            maps,
            layers,
            atlas,
            staging: Vec::new(),
            // Six maps' cells a chunk: one frame of the wall's usual upload.
            upload: wgpu::util::StagingBelt::new(device.clone(), (6 * CELLS * 4) as u64),
            rect_list: Vec::new(),
            scene: scene::Scene::default(),
            quad_list: Vec::new(),
            copies: Vec::new(),
            offscreen: None,
            text: TextSystem::new(device, &gpu.queue, format),
        }
    }

    /// The target format this renderer draws into.
    pub fn format(&self) -> wgpu::TextureFormat {
        self.format
    }

    /// The colour pass pipeline for scale mode code `mode` (built when first
    /// asked for: the shader's `MODE` is fixed per pipeline, so each carries
    /// only its own mode's arithmetic).
    fn colour_pipeline(&mut self, device: &wgpu::Device, mode: f32) -> wgpu::RenderPipeline {
        // Mode codes are small whole numbers (MODE_PAPER ..= MODE_CHANGE).
        let i = (mode as usize).min(MODES - 1);
        let (module, layout, format) = (&self.module, &self.colour_pipeline_layout, self.format);
        let pipeline = self.colour_pipelines[i].get_or_insert_with(|| {
            let constants = [("MODE", f64::from(mode))];
            let options = wgpu::PipelineCompilationOptions {
                constants: &constants,
                ..Default::default()
            };
            device.create_render_pipeline(&wgpu::RenderPipelineDescriptor {
                label: Some("map colours"),
                layout: Some(layout),
                vertex: wgpu::VertexState {
                    module,
                    entry_point: Some("vs_colour"),
                    compilation_options: options.clone(),
                    buffers: &[],
                },
                primitive: wgpu::PrimitiveState::default(),
                depth_stencil: None,
                multisample: wgpu::MultisampleState::default(),
                fragment: Some(wgpu::FragmentState {
                    module,
                    entry_point: Some("fs_colour"),
                    compilation_options: options,
                    targets: &[Some(wgpu::ColorTargetState {
                        format,
                        blend: Some(wgpu::BlendState::REPLACE),
                        write_mask: wgpu::ColorWrites::ALL,
                    })],
                }),
                multiview_mask: None,
                cache: None,
            })
        });
        pipeline.clone()
    }

    /// Draws `frame` into `target` (a `width` x `height` texture of this
    /// renderer's format) and submits the work. Maps shown at one pixel per
    /// cell are copied into place when `target`'s texture has `COPY_DST`
    /// usage (drawn otherwise, to the same pixels).
    pub fn render(
        &mut self,
        gpu: &Gpu,
        frame: &FrameInput<'_>,
        target: &wgpu::TextureView,
        width: u32,
        height: u32,
    ) -> Result<(), RenderError> {
        if width == 0 || height == 0 {
            return Err(RenderError::Empty(width, height));
        }
        let device = &gpu.device;
        let queue = &gpu.queue;
        let arr = frame.view.arrange(frame.tiles.len(), width, height);
        let text = &mut self.text;
        scene::build(frame, &arr, &mut |t, s| text.measure(t, s, None), &mut self.scene);

        // One upload of every shown map, in slot order (the scene's layers);
        // in the change view their baselines follow, in the same order. Maps
        // along the Hilbert curve are permuted into picture order here.
        let drawn: Vec<&TileInput<'_>> = if frame.view.blank {
            Vec::new()
        } else {
            arr.slots.iter().filter_map(|s| frame.tiles.get(s.tile)).collect()
        };
        let baselines: Option<Vec<&[f32]>> = if frame.view.map_view == MapView::Change {
            drawn.iter().map(|t| t.baseline).collect()
        } else {
            None
        };
        let mut shown: Vec<(&[f32], bool)> = drawn
            .iter()
            .map(|t| (t.values, t.follows_curve(frame.view.order)))
            .collect();
        let first_baseline = shown.len();
        if let Some(b) = &baselines {
            let curve = drawn.iter().map(|t| t.follows_curve(frame.view.order));
            shown.extend(b.iter().copied().zip(curve));
        }
        let needed = layer_count(shown.len());
        if needed != self.layers {
            self.maps = map_texture(device, needed);
            self.layers = needed;
            self.bind_group = bind_group(device, &self.layout, &self.globals, &self.maps);
        }
        let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("wall frame"),
        });
        self.upload_maps(&mut encoder, &shown)?;
        let rows = atlas_rows(drawn.len());
        if rows != self.atlas.rows {
            self.atlas = Atlas::new(device, &self.atlas_layout, self.format, rows);
        }
        let base_layer = |i: usize| (first_baseline + i) as u32;
        let uniform = globals(
            width,
            height,
            self.atlas.size(),
            &frame.view,
            &drawn,
            baselines.as_ref().map(|_| &base_layer as &dyn Fn(usize) -> u32),
        );
        queue.write_buffer(&self.globals, 0, bytemuck::cast_slice(&uniform));

        self.rect_list.clear();
        self.rect_list.extend_from_slice(&self.scene.base);
        self.rect_list.extend_from_slice(&self.scene.overlay);
        let base_count = self.scene.base.len() as u32;
        let total = self.rect_list.len() as u32;
        write_instances(
            gpu,
            &mut self.rects,
            "rects",
            bytemuck::cast_slice(&self.rect_list),
        );

        // Maps at one pixel per cell are copied from the atlas, the rest drawn.
        let copy = copies_allowed(target, self.format, width, height);
        self.quad_list.clear();
        self.copies.clear();
        for quad in &self.scene.maps {
            match copy_origin(quad, width, height).filter(|_| copy) {
                Some((x, y)) => self.copies.push((quad.layer, x, y)),
                None => self.quad_list.push(*quad),
            }
        }
        write_instances(
            gpu,
            &mut self.map_quads,
            "map quads",
            bytemuck::cast_slice(&self.quad_list),
        );
        self.text
            .prepare(device, queue, width, height, &self.scene.text)
            .map_err(|e| RenderError::Text(e.to_string()))?;

        if !drawn.is_empty() {
            let mode = mode_code(&frame.view, baselines.is_some());
            let atlas_view = self
                .atlas
                .texture
                .create_view(&wgpu::TextureViewDescriptor::default());
            let colour = self.colour_pipeline(device, mode);
            let mut pass = encoder.begin_render_pass(&wgpu::RenderPassDescriptor {
                label: Some("map colours"),
                color_attachments: &[Some(wgpu::RenderPassColorAttachment {
                    view: &atlas_view,
                    depth_slice: None,
                    resolve_target: None,
                    // Every texel read later is written by this pass.
                    ops: wgpu::Operations {
                        load: wgpu::LoadOp::Load,
                        store: wgpu::StoreOp::Store,
                    },
                })],
                depth_stencil_attachment: None,
                timestamp_writes: None,
                occlusion_query_set: None,
                multiview_mask: None,
            });
            pass.set_pipeline(&colour);
            pass.set_bind_group(0, &self.bind_group, &[]);
            pass.draw(0..6, 0..drawn.len() as u32);
        }
        let wall_pass = |encoder: &mut wgpu::CommandEncoder, load: wgpu::LoadOp<wgpu::Color>| {
            let mut pass = encoder
                .begin_render_pass(&wgpu::RenderPassDescriptor {
                    label: Some("wall"),
                    color_attachments: &[Some(wgpu::RenderPassColorAttachment {
                        view: target,
                        depth_slice: None,
                        resolve_target: None,
                        ops: wgpu::Operations {
                            load,
                            store: wgpu::StoreOp::Store,
                        },
                    })],
                    depth_stencil_attachment: None,
                    timestamp_writes: None,
                    occlusion_query_set: None,
                    multiview_mask: None,
                })
                .forget_lifetime();
            pass.set_bind_group(0, &self.bind_group, &[]);
            pass.set_bind_group(1, &self.atlas.bind_group, &[]);
            pass
        };
        let [r, g, b] = self.scene.clear.map(|c| f64::from(c) / 255.0);
        // Drawing order: base rectangles, maps, base text, overlay
        // rectangles, overlay text. Copied maps land between the maps drawn
        // and the text, in a pass of their own.
        let mut pass = wall_pass(&mut encoder, wgpu::LoadOp::Clear(wgpu::Color { r, g, b, a: 1.0 }));
        if base_count > 0 {
            pass.set_pipeline(&self.rect_pipeline);
            pass.set_vertex_buffer(0, self.rects.slice(..));
            pass.draw(0..6, 0..base_count);
        }
        if !self.quad_list.is_empty() {
            pass.set_pipeline(&self.map_pipeline);
            pass.set_vertex_buffer(0, self.map_quads.slice(..));
            pass.draw(0..6, 0..self.quad_list.len() as u32);
        }
        if !self.copies.is_empty() {
            drop(pass);
            for &(slot, x, y) in &self.copies {
                let (ax, ay) = Atlas::origin(slot);
                encoder.copy_texture_to_texture(
                    wgpu::TexelCopyTextureInfo {
                        texture: &self.atlas.texture,
                        mip_level: 0,
                        origin: wgpu::Origin3d { x: ax, y: ay, z: 0 },
                        aspect: wgpu::TextureAspect::All,
                    },
                    wgpu::TexelCopyTextureInfo {
                        texture: target.texture(),
                        mip_level: 0,
                        origin: wgpu::Origin3d { x, y, z: 0 },
                        aspect: wgpu::TextureAspect::All,
                    },
                    wgpu::Extent3d {
                        width: SIDE as u32,
                        height: SIDE as u32,
                        depth_or_array_layers: 1,
                    },
                );
            }
            pass = wall_pass(&mut encoder, wgpu::LoadOp::Load);
        }
        self.text
            .render(false, &mut pass)
            .map_err(|e| RenderError::Text(e.to_string()))?;
        if total > base_count {
            pass.set_pipeline(&self.rect_pipeline);
            pass.set_bind_group(0, &self.bind_group, &[]);
            pass.set_bind_group(1, &self.atlas.bind_group, &[]);
            pass.set_vertex_buffer(0, self.rects.slice(..));
            pass.draw(0..6, base_count..total);
        }
        self.text
            .render(true, &mut pass)
            .map_err(|e| RenderError::Text(e.to_string()))?;
        drop(pass);
        // The belt's buffers come back for reuse once this frame is done.
        self.upload.finish_and_recall_on_submit(&encoder);
        queue.submit(Some(encoder.finish()));
        self.text.end_frame();
        Ok(())
    }

    /// Records the upload of `shown` (values, and whether each follows the
    /// curve) into the map layers, in order. The values are written once, into
    /// staging memory the belt reuses from frame to frame: `write_texture`
    /// took fresh staging memory every frame and freed it after, and needed
    /// the layers gathered into one buffer first (on the H200 machine the
    /// belt took encode and submit from 0.57-0.66 to 0.45-0.46 ms).
    fn upload_maps(
        &mut self,
        encoder: &mut wgpu::CommandEncoder,
        shown: &[(&[f32], bool)],
    ) -> Result<(), RenderError> {
        const LAYER: wgpu::BufferSize = wgpu::BufferSize::new((CELLS * 4) as u64).expect("a layer has cells");
        const ALIGN: wgpu::BufferSize =
            wgpu::BufferSize::new(wgpu::COPY_BYTES_PER_ROW_ALIGNMENT as u64).expect("a non-zero alignment");
        for (layer, &(values, curve)) in shown.iter().enumerate() {
            // A whole map in row order is copied from the frame as it is; a
            // map along the curve (or a short one) is permuted first.
            let cells: &[f32] = if curve || values.len() != CELLS {
                self.staging.resize(CELLS, 0.0);
                stage_map(&mut self.staging, values, curve);
                &self.staging
            } else {
                values
            };
            let slice = self.upload.allocate(LAYER, ALIGN);
            slice
                .get_mapped_range_mut()
                .map_err(|e| RenderError::Upload(e.to_string()))?
                .copy_from_slice(bytemuck::cast_slice(cells));
            encoder.copy_buffer_to_texture(
                wgpu::TexelCopyBufferInfo {
                    buffer: slice.buffer(),
                    layout: wgpu::TexelCopyBufferLayout {
                        offset: slice.offset(),
                        bytes_per_row: Some((SIDE * 4) as u32),
                        rows_per_image: Some(SIDE as u32),
                    },
                },
                wgpu::TexelCopyTextureInfo {
                    texture: &self.maps,
                    mip_level: 0,
                    origin: wgpu::Origin3d {
                        x: 0,
                        y: 0,
                        z: layer as u32,
                    },
                    aspect: wgpu::TextureAspect::All,
                },
                wgpu::Extent3d {
                    width: SIDE as u32,
                    height: SIDE as u32,
                    depth_or_array_layers: 1,
                },
            );
        }
        Ok(())
    }

    /// Draws `frame` offscreen at `width` x `height` and reads it back as RGBA
    /// (the snapshot path, and the window's `S` screenshot). The offscreen
    /// target and its readback buffer (8 bytes a pixel) are kept for the next
    /// call of the same size.
    pub fn render_to_image(
        &mut self,
        gpu: &Gpu,
        frame: &FrameInput<'_>,
        width: u32,
        height: u32,
    ) -> Result<RgbaImage, RenderError> {
        if width == 0 || height == 0 {
            return Err(RenderError::Empty(width, height));
        }
        let max = gpu.device.limits().max_texture_dimension_2d;
        if width > max || height > max {
            return Err(RenderError::TooLarge { width, height, max });
        }
        let offscreen = match self.offscreen.take() {
            Some(o) if (o.texture.width(), o.texture.height()) == (width, height) => o,
            _ => Offscreen::new(&gpu.device, self.format, width, height),
        };
        let drawn = self
            .render(gpu, frame, &offscreen.view, width, height)
            .and_then(|()| read_back(gpu, &offscreen, self.format));
        // After a failed readback the buffer may still be mapped: start afresh.
        self.offscreen = drawn.is_ok().then_some(offscreen);
        drawn
    }
}

/// Copies an offscreen frame (4 bytes a pixel, in `format`) to memory as RGBA.
fn read_back(
    gpu: &Gpu,
    offscreen: &Offscreen,
    format: wgpu::TextureFormat,
) -> Result<RgbaImage, RenderError> {
    let (texture, buffer) = (&offscreen.texture, &offscreen.buffer);
    let (width, height) = (texture.width(), texture.height());
    let unpadded = width * 4;
    let padded = offscreen.padded_row;
    let mut encoder = gpu
        .device
        .create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("readback"),
        });
    encoder.copy_texture_to_buffer(
        wgpu::TexelCopyTextureInfo {
            texture,
            mip_level: 0,
            origin: wgpu::Origin3d::ZERO,
            aspect: wgpu::TextureAspect::All,
        },
        wgpu::TexelCopyBufferInfo {
            buffer,
            layout: wgpu::TexelCopyBufferLayout {
                offset: 0,
                bytes_per_row: Some(padded),
                rows_per_image: Some(height),
            },
        },
        wgpu::Extent3d {
            width,
            height,
            depth_or_array_layers: 1,
        },
    );
    let index = gpu.queue.submit(Some(encoder.finish()));
    let (tx, rx) = std::sync::mpsc::channel();
    buffer
        .slice(..)
        .map_async(wgpu::MapMode::Read, move |r| drop(tx.send(r)));
    gpu.device
        .poll(wgpu::PollType::Wait {
            submission_index: Some(index),
            timeout: None,
        })
        .map_err(|e| RenderError::Readback(e.to_string()))?;
    rx.recv()
        .map_err(|e| RenderError::Readback(e.to_string()))?
        .map_err(|e| RenderError::Readback(e.to_string()))?;
    let mut pixels = Vec::with_capacity((unpadded * height) as usize);
    {
        let view = buffer
            .slice(..)
            .get_mapped_range()
            .map_err(|e| RenderError::Readback(e.to_string()))?;
        for row in view.chunks_exact(padded as usize) {
            pixels.extend_from_slice(&row[..unpadded as usize]);
        }
    }
    buffer.unmap();
    if matches!(
        format,
        wgpu::TextureFormat::Bgra8Unorm | wgpu::TextureFormat::Bgra8UnormSrgb
    ) {
        for p in pixels.chunks_exact_mut(4) {
            p.swap(0, 2);
        }
    }
    Ok(RgbaImage {
        width,
        height,
        pixels,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layer_counts_avoid_gl_cube_maps() {
        for shown in 0..40 {
            let n = layer_count(shown);
            assert!(
                n as usize >= shown && n >= 2 && !n.is_multiple_of(6),
                "{shown} -> {n}"
            );
        }
        assert_eq!(layer_count(6), 7);
    }

    #[test]
    fn globals_carry_the_scale_table() {
        let g = globals(1920, 1080, (1024, 512), &ViewState::default(), &[], None);
        assert_eq!(g[0], [1920.0, 1080.0, 8.0, 7.0]);
        assert_eq!(g[ATLAS_AT], [1024.0, 512.0, 0.0, 0.0]);
        assert_eq!(g[STOPS_AT + 1], [4.0, 0.0, 0.0, 1.0]);
        assert_eq!(g[DIVERGING_AT + 3][0], 0.0);
        // Within the smallest uniform binding any device offers (16 KiB).
        assert!(g.len() * 16 <= 16_384, "{}", g.len() * 16);
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
            order: super::super::CellOrder::Hilbert,
            ..ViewState::default()
        };
        let g = globals(10, 10, (1024, 256), &view, &[&addr, &port], None);
        assert_eq!(g[MAPS_AT], [MODE_AUTO, 0.5, 0.0, 0.0]);
        let change = ViewState {
            map_view: MapView::Change,
            ..view
        };
        let g = globals(
            10,
            10,
            (1024, 256),
            &change,
            &[&addr, &port],
            Some(&|i| 2 + i as u32),
        );
        assert_eq!(g[MAPS_AT + 3][0], MODE_CHANGE);
        assert_eq!(g[MAPS_AT + 4][2], 3.0);
        assert_eq!(g[RANKS_AT], [1.0; 4]);
        // The change view without baselines falls back to the scale mode.
        let g = globals(10, 10, (1024, 256), &change, &[&addr, &port], None);
        assert_eq!(g[MAPS_AT + 3][0], MODE_AUTO);
    }

    #[test]
    fn curve_maps_are_uploaded_in_picture_order() {
        let order = curve_order();
        assert_eq!(order.len(), CELLS);
        // Every key once: a permutation.
        let mut seen = vec![false; CELLS];
        for &k in order {
            assert!(!seen[usize::from(k)], "key {k} twice");
            seen[usize::from(k)] = true;
        }
        // Cell (row 3, column 200) shows the key the CPU hit test names.
        assert_eq!(order[3 * SIDE + 200], crate::hilbert::xy2d(200, 3));
        let values: Vec<f32> = (0..CELLS).map(|k| k as f32).collect();
        let mut dst = vec![-1.0; CELLS];
        stage_map(&mut dst, &values, true);
        assert_eq!(dst[3 * SIDE + 200], f32::from(crate::hilbert::xy2d(200, 3)));
        // Short inputs draw as far as they go, the rest as zero.
        stage_map(&mut dst, &values[..10], false);
        assert_eq!(&dst[8..12], &[8.0, 9.0, 0.0, 0.0]);
        stage_map(&mut dst, &values[..10], true);
        assert!(dst.iter().all(|&v| v < 10.0));
    }

    #[test]
    fn maps_copied_or_drawn_give_the_same_pixels() {
        let Ok(gpu) = Gpu::headless(AdapterChoice::Software) else {
            eprintln!("skipped: no software adapter (install mesa-vulkan-drivers)");
            return;
        };
        let format = wgpu::TextureFormat::Rgba8Unorm;
        let mut r = WallRenderer::new(&gpu, format);
        let values: Vec<Vec<f32>> = (0..6)
            .map(|i| (0..CELLS).map(|k| ((k * 7 + i * 13) % 300) as f32).collect())
            .collect();
        let tiles = crate::maps::default_shown()
            .iter()
            .zip(&values)
            .map(|(&m, v)| TileInput {
                def: &crate::maps::MAPS[m],
                values: v,
                rate_pps: 0.0,
                baseline: None,
                scale: None,
            })
            .collect();
        let frame = FrameInput {
            tiles,
            status: super::super::StatusInfo::default(),
            view: ViewState {
                order: super::super::CellOrder::Hilbert,
                ..ViewState::default()
            },
        };
        // Six maps at 1920x1080 are 256 pixels wide: all copied.
        let copied = r.render_to_image(&gpu, &frame, 1920, 1080).expect("render");
        assert_eq!(r.copies.len(), 6);
        // The same frame into a target that takes no copies: all drawn.
        let mut target = Offscreen::new(&gpu.device, format, 1920, 1080);
        target.texture = gpu.device.create_texture(&wgpu::TextureDescriptor {
            label: None,
            usage: wgpu::TextureUsages::RENDER_ATTACHMENT | wgpu::TextureUsages::COPY_SRC,
            size: target.texture.size(),
            mip_level_count: 1,
            sample_count: 1,
            dimension: wgpu::TextureDimension::D2,
            format,
            view_formats: &[],
        });
        target.view = target
            .texture
            .create_view(&wgpu::TextureViewDescriptor::default());
        r.render(&gpu, &frame, &target.view, 1920, 1080).expect("render");
        assert!(r.copies.is_empty());
        assert_eq!(r.quad_list.len(), 6);
        let drawn = read_back(&gpu, &target, format).expect("read back");
        assert!(copied.pixels == drawn.pixels, "copied and drawn maps differ");
    }

    #[test]
    fn only_whole_one_to_one_maps_inside_the_target_are_copied() {
        let quad = |x: f32, y: f32, w: f32| MapInstance {
            rect: [x, y, w, w],
            layer: 0,
            _pad: [0; 3],
        };
        assert_eq!(copy_origin(&quad(10.0, 20.0, 256.0), 1920, 1080), Some((10, 20)));
        assert_eq!(copy_origin(&quad(10.0, 20.0, 512.0), 1920, 1080), None);
        assert_eq!(copy_origin(&quad(-1.0, 20.0, 256.0), 1920, 1080), None);
        assert_eq!(copy_origin(&quad(1700.0, 20.0, 256.0), 1920, 1080), None);
        assert_eq!(
            copy_origin(&quad(1664.0, 824.0, 256.0), 1920, 1080),
            Some((1664, 824))
        );
        assert_eq!(atlas_rows(0), 1);
        assert_eq!(atlas_rows(6), 2);
        assert_eq!(Atlas::origin(5), (256, 256));
    }
}
