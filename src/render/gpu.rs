//! The wgpu side: adapter choice, pipelines, the per-frame upload and draw,
//! and reading a frame back as an image.

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
        let desc = wgpu::InstanceDescriptor {
            backends: backends(),
            ..wgpu::InstanceDescriptor::new_without_display_handle()
        };
        let instance = wgpu::Instance::new(desc.with_env());
        Self::open(instance, None, choice)
    }

    /// [`Gpu::headless`] on the given backends only, ignoring `WGPU_BACKEND`
    /// (tests render on Vulkan and on GL, whose traps differ).
    pub fn headless_on(backends: wgpu::Backends, choice: AdapterChoice) -> Result<Gpu, RenderError> {
        let instance = wgpu::Instance::new(wgpu::InstanceDescriptor {
            backends,
            ..wgpu::InstanceDescriptor::new_without_display_handle()
        });
        Self::open(instance, None, choice)
    }

    /// A device that can present to `surface`, created on `instance` (which,
    /// for GL, must have been given the display handle).
    pub fn for_surface(
        instance: wgpu::Instance,
        surface: &wgpu::Surface<'_>,
        choice: AdapterChoice,
    ) -> Result<Gpu, RenderError> {
        Self::open(instance, Some(surface), choice)
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
    ) -> Result<Gpu, RenderError> {
        let adapter = pollster::block_on(pick_adapter(&instance, surface, choice))?;
        let limits = wgpu::Limits::downlevel_webgl2_defaults().using_resolution(adapter.limits());
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("scanwall"),
            required_features: wgpu::Features::empty(),
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
/// Vectors of four floats in the uniform: screen, stops, diverging stops,
/// three per map, then the rank tables (matches `Globals` in the shader).
const GLOBALS_VEC4: usize = 1 + 2 * MAX_STOPS + 3 * MAX_TILES + MAX_TILES * RANK_BUCKETS / 4;
const STOPS_AT: usize = 1;
const DIVERGING_AT: usize = STOPS_AT + MAX_STOPS;
const MAPS_AT: usize = DIVERGING_AT + MAX_STOPS;
const RANKS_AT: usize = MAPS_AT + 3 * MAX_TILES;

/// Scale mode codes of the shader's `MapParams.a.x`.
const MODE_PAPER: f32 = 0.0;
const MODE_AUTO: f32 = 1.0;
const MODE_LOG: f32 = 2.0;
const MODE_RANK: f32 = 3.0;
const MODE_CHANGE: f32 = 4.0;

/// The uniform shared by both pipelines, as vectors of four floats: the
/// colour tables of the view and, per drawn map (in slot order), its scale
/// numbers. `baseline_layer(i)` is where map i's baseline was uploaded, when
/// the change view is drawn.
fn globals(
    width: u32,
    height: u32,
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
    let empty = MapScale::default();
    for (i, tile) in tiles.iter().take(MAX_TILES).enumerate() {
        let scale = tile.scale.unwrap_or(&empty);
        let order = if tile.follows_curve(view.order) { 1.0 } else { 0.0 };
        let (mode, base) = match (view.map_view, baseline_layer) {
            (MapView::Change, Some(layer)) => (MODE_CHANGE, layer(i) as f32),
            _ => (
                match view.scale {
                    ScaleMode::Paper => MODE_PAPER,
                    ScaleMode::Auto => MODE_AUTO,
                    ScaleMode::Log => MODE_LOG,
                    ScaleMode::Rank => MODE_RANK,
                },
                0.0,
            ),
        };
        g[MAPS_AT + 3 * i] = [mode, scale.gain, scale.max, order];
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
/// offscreen image. Holds the pipelines, the map texture array and the text.
pub struct WallRenderer {
    format: wgpu::TextureFormat,
    layout: wgpu::BindGroupLayout,
    map_pipeline: wgpu::RenderPipeline,
    rect_pipeline: wgpu::RenderPipeline,
    globals: wgpu::Buffer,
    maps: wgpu::Texture,
    layers: u32,
    bind_group: wgpu::BindGroup,
    rects: wgpu::Buffer,
    map_quads: wgpu::Buffer,
    staging: Vec<f32>,
    text: TextSystem,
}

fn instance_buffer(device: &wgpu::Device, label: &str, size: u64) -> wgpu::Buffer {
    device.create_buffer(&wgpu::BufferDescriptor {
        label: Some(label),
        size: size.max(256),
        usage: wgpu::BufferUsages::VERTEX | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    })
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
                wgpu::BindGroupLayoutEntry {
                    binding: 1,
                    visibility: wgpu::ShaderStages::FRAGMENT,
                    ty: wgpu::BindingType::Texture {
                        sample_type: wgpu::TextureSampleType::Float { filterable: false },
                        view_dimension: wgpu::TextureViewDimension::D2Array,
                        multisampled: false,
                    },
                    count: None,
                },
            ],
        });
        let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("wall"),
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
        WallRenderer {
            format,
            map_pipeline,
            rect_pipeline,
            bind_group,
            rects: instance_buffer(device, "rects", 64 * 1024),
            map_quads: instance_buffer(device, "map quads", 1024),
            layout,
            globals,
            maps,
            layers,
            staging: Vec::new(),
            text: TextSystem::new(device, &gpu.queue, format),
        }
    }

    /// The target format this renderer draws into.
    pub fn format(&self) -> wgpu::TextureFormat {
        self.format
    }

    /// Draws `frame` into `target` (a `width` x `height` texture of this
    /// renderer's format) and submits the work.
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
        let scene = scene::build(frame, &arr, &mut |t, s| text.measure(t, s, None));

        // One upload of every shown map, in slot order (the scene's layers);
        // in the change view their baselines follow, in the same order.
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
        let mut shown: Vec<&[f32]> = drawn.iter().map(|t| t.values).collect();
        let first_baseline = shown.len();
        if let Some(b) = &baselines
            && !drawn.is_empty()
        {
            shown.extend(b.iter().copied());
        }
        let needed = layer_count(shown.len());
        if needed != self.layers {
            self.maps = map_texture(device, needed);
            self.layers = needed;
            self.bind_group = bind_group(device, &self.layout, &self.globals, &self.maps);
        }
        if !shown.is_empty() {
            self.staging.clear();
            self.staging.resize(shown.len() * CELLS, 0.0);
            for (dst, src) in self.staging.chunks_exact_mut(CELLS).zip(&shown) {
                let n = src.len().min(CELLS);
                dst[..n].copy_from_slice(&src[..n]);
            }
            queue.write_texture(
                wgpu::TexelCopyTextureInfo {
                    texture: &self.maps,
                    mip_level: 0,
                    origin: wgpu::Origin3d::ZERO,
                    aspect: wgpu::TextureAspect::All,
                },
                bytemuck::cast_slice(&self.staging),
                wgpu::TexelCopyBufferLayout {
                    offset: 0,
                    bytes_per_row: Some((SIDE * 4) as u32),
                    rows_per_image: Some(SIDE as u32),
                },
                wgpu::Extent3d {
                    width: SIDE as u32,
                    height: SIDE as u32,
                    depth_or_array_layers: shown.len() as u32,
                },
            );
        }
        let base_layer = |i: usize| (first_baseline + i) as u32;
        let uniform = globals(
            width,
            height,
            &frame.view,
            &drawn,
            baselines.as_ref().map(|_| &base_layer as &dyn Fn(usize) -> u32),
        );
        queue.write_buffer(&self.globals, 0, bytemuck::cast_slice(&uniform));

        let mut rects = scene.base.clone();
        let base_count = rects.len() as u32;
        rects.extend_from_slice(&scene.overlay);
        let rect_bytes: &[u8] = bytemuck::cast_slice(&rects);
        if rect_bytes.len() as u64 > self.rects.size() {
            self.rects = instance_buffer(device, "rects", (rect_bytes.len() as u64).next_power_of_two());
        }
        if !rect_bytes.is_empty() {
            queue.write_buffer(&self.rects, 0, rect_bytes);
        }
        let map_bytes: &[u8] = bytemuck::cast_slice(&scene.maps);
        if map_bytes.len() as u64 > self.map_quads.size() {
            self.map_quads =
                instance_buffer(device, "map quads", (map_bytes.len() as u64).next_power_of_two());
        }
        if !map_bytes.is_empty() {
            queue.write_buffer(&self.map_quads, 0, map_bytes);
        }
        self.text
            .prepare(device, queue, width, height, &scene.text)
            .map_err(|e| RenderError::Text(e.to_string()))?;

        let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("wall frame"),
        });
        {
            let [r, g, b] = scene.clear.map(|c| f64::from(c) / 255.0);
            let mut pass = encoder.begin_render_pass(&wgpu::RenderPassDescriptor {
                label: Some("wall"),
                color_attachments: &[Some(wgpu::RenderPassColorAttachment {
                    view: target,
                    depth_slice: None,
                    resolve_target: None,
                    ops: wgpu::Operations {
                        load: wgpu::LoadOp::Clear(wgpu::Color { r, g, b, a: 1.0 }),
                        store: wgpu::StoreOp::Store,
                    },
                })],
                depth_stencil_attachment: None,
                timestamp_writes: None,
                occlusion_query_set: None,
                multiview_mask: None,
            });
            pass.set_bind_group(0, &self.bind_group, &[]);
            let total = rects.len() as u32;
            if base_count > 0 {
                pass.set_pipeline(&self.rect_pipeline);
                pass.set_vertex_buffer(0, self.rects.slice(..));
                pass.draw(0..6, 0..base_count);
            }
            if !scene.maps.is_empty() {
                pass.set_pipeline(&self.map_pipeline);
                pass.set_vertex_buffer(0, self.map_quads.slice(..));
                pass.draw(0..6, 0..scene.maps.len() as u32);
            }
            self.text
                .render(false, &mut pass)
                .map_err(|e| RenderError::Text(e.to_string()))?;
            if total > base_count {
                pass.set_pipeline(&self.rect_pipeline);
                pass.set_bind_group(0, &self.bind_group, &[]);
                pass.set_vertex_buffer(0, self.rects.slice(..));
                pass.draw(0..6, base_count..total);
            }
            self.text
                .render(true, &mut pass)
                .map_err(|e| RenderError::Text(e.to_string()))?;
        }
        queue.submit(Some(encoder.finish()));
        self.text.end_frame();
        Ok(())
    }

    /// Draws `frame` offscreen at `width` x `height` and reads it back as RGBA
    /// (the snapshot path, and the window's `S` screenshot).
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
        let device = &gpu.device;
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
            format: self.format,
            usage: wgpu::TextureUsages::RENDER_ATTACHMENT | wgpu::TextureUsages::COPY_SRC,
            view_formats: &[],
        });
        let view = texture.create_view(&wgpu::TextureViewDescriptor::default());
        self.render(gpu, frame, &view, width, height)?;
        read_back(gpu, &texture, width, height, self.format)
    }
}

/// Copies a 4-byte-per-pixel texture to memory as RGBA.
fn read_back(
    gpu: &Gpu,
    texture: &wgpu::Texture,
    width: u32,
    height: u32,
    format: wgpu::TextureFormat,
) -> Result<RgbaImage, RenderError> {
    let unpadded = width * 4;
    let align = wgpu::COPY_BYTES_PER_ROW_ALIGNMENT;
    let padded = unpadded.div_ceil(align) * align;
    let buffer = gpu.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("readback"),
        size: u64::from(padded) * u64::from(height),
        usage: wgpu::BufferUsages::COPY_DST | wgpu::BufferUsages::MAP_READ,
        mapped_at_creation: false,
    });
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
            buffer: &buffer,
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
        let g = globals(1920, 1080, &ViewState::default(), &[], None);
        assert_eq!(g[0], [1920.0, 1080.0, 8.0, 7.0]);
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
        let g = globals(10, 10, &view, &[&addr, &port], None);
        assert_eq!(g[MAPS_AT], [MODE_AUTO, 0.5, 0.0, 1.0]);
        // Ports never follow the address curve.
        assert_eq!(g[MAPS_AT + 3][3], 0.0);
        let change = ViewState {
            map_view: MapView::Change,
            ..view
        };
        let g = globals(10, 10, &change, &[&addr, &port], Some(&|i| 2 + i as u32));
        assert_eq!(g[MAPS_AT + 3][0], MODE_CHANGE);
        assert_eq!(g[MAPS_AT + 4][2], 3.0);
        assert_eq!(g[RANKS_AT], [1.0; 4]);
    }
}
