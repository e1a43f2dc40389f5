//! The GPU objects a renderer keeps from frame to frame: the shader and its
//! pipelines, the bind group layouts and groups, the map value textures, the
//! colour atlas, and the uniform and instance buffers.
//!
//! Creating them is slow and their descriptions are long, so they live here,
//! apart from the per-frame path (`frame`) that only fills and binds them.
//! Everything is sized for the least a device offers (WebGL2 downlevel
//! limits), and the GL backend's traps (1-layer and 6k-layer arrays) avoided.

use std::mem::size_of;

use super::super::scene::{MapInstance, RectInstance};
use super::device::Gpu;
use super::uniforms::{ATLAS_COLS, Globals, MODES};
use crate::maps::SIDE;

/// The shader source, compiled into the binary.
pub(super) const SHADER: &str = include_str!("../../../shaders/wall.wgsl");

/// The shader module, its bind group layouts and the render pipelines made
/// from them, for targets of one format.
pub(super) struct Pipelines {
    module: wgpu::ShaderModule,
    /// Group 0: the uniform and the map values (every pipeline).
    pub layout: wgpu::BindGroupLayout,
    /// Group 1: the colour atlas (the wall pass only).
    pub atlas_layout: wgpu::BindGroupLayout,
    colour_layout: wgpu::PipelineLayout,
    /// The colour pass, per scale mode code, built when first needed.
    colour: [Option<wgpu::RenderPipeline>; MODES],
    /// The wall pass's maps, fetched from the atlas.
    pub map: wgpu::RenderPipeline,
    /// The same for maps smaller than 256 pixels, max-pooling the cells
    /// each pixel covers.
    pub map_pooled: wgpu::RenderPipeline,
    /// The wall pass's rectangles.
    pub rect: wgpu::RenderPipeline,
}

impl Pipelines {
    /// The shader, the layouts and the wall pass pipelines for targets of
    /// `format` (the colour pass pipelines come when first asked for).
    pub(super) fn new(device: &wgpu::Device, format: wgpu::TextureFormat) -> Pipelines {
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
                        // wgpu checks that the shader's `Globals` fits in
                        // this, and the buffer bound holds it.
                        min_binding_size: wgpu::BufferSize::new(size_of::<Globals>() as u64),
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
        let colour_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
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
                        step_mode: wgpu::VertexStepMode,
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
                        step_mode,
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
        let map = pipeline(
            "maps",
            "vs_map",
            "fs_map",
            size_of::<MapInstance>(),
            &map_attrs,
            wgpu::VertexStepMode::Instance,
            wgpu::BlendState::REPLACE,
        );
        let map_pooled = pipeline(
            "maps pooled",
            "vs_map",
            "fs_map_pooled",
            size_of::<MapInstance>(),
            &map_attrs,
            wgpu::VertexStepMode::Instance,
            wgpu::BlendState::REPLACE,
        );
        let rect = pipeline(
            "rects",
            "vs_rect",
            "fs_rect",
            size_of::<RectInstance>(),
            &rect_attrs,
            wgpu::VertexStepMode::Vertex,
            wgpu::BlendState::ALPHA_BLENDING,
        );
        Pipelines {
            module,
            layout,
            atlas_layout,
            colour_layout,
            map_pooled,
            colour: Default::default(),
            map,
            rect,
        }
    }

    /// The colour pass pipeline for scale mode code `mode`, drawing into
    /// `format` (built when first asked for: the shader's `MODE` is fixed per
    /// pipeline, so each carries only its own mode's arithmetic).
    pub(super) fn colour(
        &mut self,
        device: &wgpu::Device,
        format: wgpu::TextureFormat,
        mode: f32,
    ) -> wgpu::RenderPipeline {
        // Mode codes are small whole numbers (MODE_PAPER ..= MODE_CHANGE).
        let i = (mode as usize).min(MODES - 1);
        let (module, layout) = (&self.module, &self.colour_layout);
        let pipeline = self.colour[i].get_or_insert_with(|| {
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
}

/// The uniform buffer, `Globals`' size.
pub(super) fn globals_buffer(device: &wgpu::Device) -> wgpu::Buffer {
    device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("globals"),
        size: size_of::<Globals>() as u64,
        usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    })
}

/// Layers to allocate for `shown` maps: at least 2 (a 1-layer array may be
/// bound as a plain 2D texture on GL) and never a multiple of 6 (GL turns a
/// square array of 6k layers into a cube map and the array view reads black).
pub(super) fn layer_count(shown: usize) -> u32 {
    let mut n = shown.max(2) as u32;
    if n.is_multiple_of(6) {
        n += 1;
    }
    n
}

/// A `width` x `height` texture of `format` that frames are drawn into, with
/// `usage` besides: an offscreen target, or the kept backdrop.
pub(super) fn frame_texture(
    device: &wgpu::Device,
    label: &str,
    format: wgpu::TextureFormat,
    (width, height): (u32, u32),
    usage: wgpu::TextureUsages,
) -> wgpu::Texture {
    device.create_texture(&wgpu::TextureDescriptor {
        label: Some(label),
        size: wgpu::Extent3d {
            width,
            height,
            depth_or_array_layers: 1,
        },
        mip_level_count: 1,
        sample_count: 1,
        dimension: wgpu::TextureDimension::D2,
        format,
        usage: wgpu::TextureUsages::RENDER_ATTACHMENT | usage,
        view_formats: &[],
    })
}

/// The map values: one `R32Float` layer of 256 x 256 cells per map uploaded.
pub(super) fn map_texture(device: &wgpu::Device, layers: u32) -> wgpu::Texture {
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

/// Group 0: the uniform and the map value layers, as a 2D array.
pub(super) fn bind_group(
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

/// The colour atlas: map slot i's colours at texels
/// ((i % ATLAS_COLS) * 256, (i / ATLAS_COLS) * 256) + (column, row). It has
/// the target's format, so a texel copied or fetched into the target is
/// exactly what drawing that colour there would have written. (At 4 tiles a
/// row it holds 32 maps within the smallest texture size a device allows;
/// the catalogue has nine.)
pub(super) struct Atlas {
    /// The texture (the colour pass's target, the copies' source).
    pub texture: wgpu::Texture,
    /// Group 1: the texture, for the wall pass.
    pub bind_group: wgpu::BindGroup,
    /// Rows of tiles it has room for.
    pub rows: u32,
}

impl Atlas {
    /// An atlas of `rows` rows of tiles in `format`, bound through `layout`.
    pub(super) fn new(
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

    /// Width and height in texels.
    pub(super) fn size(&self) -> (u32, u32) {
        (self.texture.width(), self.texture.height())
    }

    /// Top left texel of slot `i`'s tile.
    pub(super) fn origin(i: u32) -> (u32, u32) {
        let side = SIDE as u32;
        ((i % ATLAS_COLS) * side, (i / ATLAS_COLS) * side)
    }
}

/// Rows of the colour atlas for `shown` maps.
pub(super) fn atlas_rows(shown: usize) -> u32 {
    (shown as u32).div_ceil(ATLAS_COLS).max(1)
}

/// A buffer of `size` bytes (at least 256) for instances written each frame.
pub(super) fn instance_buffer(device: &wgpu::Device, label: &str, size: u64) -> wgpu::Buffer {
    device.create_buffer(&wgpu::BufferDescriptor {
        label: Some(label),
        size: size.max(256),
        usage: wgpu::BufferUsages::VERTEX | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    })
}

/// Writes `bytes` at the start of `buffer`, growing it (to a power of two)
/// when they do not fit.
pub(super) fn write_instances(gpu: &Gpu, buffer: &mut wgpu::Buffer, label: &str, bytes: &[u8]) {
    if bytes.len() as u64 > buffer.size() {
        *buffer = instance_buffer(&gpu.device, label, (bytes.len() as u64).next_power_of_two());
    }
    if !bytes.is_empty() {
        gpu.queue.write_buffer(buffer, 0, bytes);
    }
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
    fn atlas_tiles_are_placed_four_to_a_row() {
        assert_eq!(atlas_rows(0), 1);
        assert_eq!(atlas_rows(6), 2);
        assert_eq!(Atlas::origin(5), (256, 256));
    }
}
