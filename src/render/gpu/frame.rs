//! The per-frame path: [`WallRenderer`] turns a [`FrameInput`] into one
//! command buffer (map upload, colour pass, backdrop, wall pass, copies,
//! text) and submits it.
//!
//! This is where a frame's time goes, so it only fills and binds what
//! `resources` made: the maps go up through a staging belt reused frame to
//! frame, the uniform is written whole, the instance lists are reused, maps
//! shown at one pixel per cell are copied from the atlas instead of drawn,
//! and what stays from frame to frame is copied from a kept backdrop
//! (`backdrop`) instead of drawn (the same pixels, both). See
//! docs/performance.md.

use std::sync::OnceLock;

use super::super::scale::MapView;
use super::super::scene::{self, MapInstance, RectInstance};
use super::super::text::TextSystem;
use super::super::{FrameInput, RenderError, TileInput};
use super::backdrop::{Backdrop, Plan};
use super::device::Gpu;
use super::readback::Offscreen;
use super::resources::{
    Atlas, Pipelines, atlas_rows, bind_group, globals_buffer, instance_buffer, layer_count, map_texture,
    write_instances,
};
use super::uniforms::{Globals, mode_code};
use crate::maps::{CELLS, SIDE};

/// Draws frames into textures of one format: the window's surface or an
/// offscreen image. Holds the pipelines, the map textures and the text.
pub struct WallRenderer {
    /// The target format.
    pub(super) format: wgpu::TextureFormat,
    /// The shader, layouts and pipelines.
    pipelines: Pipelines,
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
    /// Each rectangle six times, once per corner of its two triangles (see
    /// `render`).
    rect_list: Vec<RectInstance>,
    quad_list: Vec<MapInstance>,
    /// The last frame's scene, whose lists the next frame's is built into.
    scene: scene::Scene,
    copies: Vec<(u32, u32, u32)>,
    /// Where the maps are, for the text to keep labels over them out of the
    /// backdrop.
    map_rects: Vec<[f32; 4]>,
    /// The target and readback buffer of `render_to_image`, kept for the
    /// next call of the same size (snapshots in a loop, `soak`).
    pub(super) offscreen: Option<Offscreen>,
    text: TextSystem,
    /// What stays from frame to frame, kept to be copied under each frame.
    backdrop: Backdrop,
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

/// Whether a map quad is drawn smaller than 256 pixels on a side, so that its
/// pixels pool several cells (`fs_map_pooled`).
fn pooled(quad: &MapInstance) -> bool {
    quad.rect[2] < SIDE as f32 || quad.rect[3] < SIDE as f32
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
        let pipelines = Pipelines::new(device, format);
        let globals = globals_buffer(device);
        let layers = layer_count(0);
        let maps = map_texture(device, layers);
        let bind_group = bind_group(device, &pipelines.layout, &globals, &maps);
        let atlas = Atlas::new(device, &pipelines.atlas_layout, format, atlas_rows(0));
        WallRenderer {
            format,
            pipelines,
            bind_group,
            rects: instance_buffer(device, "rects", 64 * 1024),
            map_quads: instance_buffer(device, "map quads", 1024),
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
            map_rects: Vec::new(),
            offscreen: None,
            text: TextSystem::new(device, &gpu.queue, format),
            backdrop: Backdrop::default(),
        }
    }

    /// The target format this renderer draws into.
    pub fn format(&self) -> wgpu::TextureFormat {
        self.format
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
        let drawn = self.encode_and_submit(gpu, frame, target, width, height);
        if drawn.is_err() {
            // A frame that failed half-way was never submitted: the backdrop
            // texture may not hold what the plan says it does.
            self.backdrop.forget();
        }
        drawn
    }

    /// [`WallRenderer::render`], but for what a failure leaves behind.
    fn encode_and_submit(
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
            self.bind_group = bind_group(device, &self.pipelines.layout, &self.globals, &self.maps);
        }
        let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("wall frame"),
        });
        self.upload_maps(&mut encoder, &shown)?;
        let rows = atlas_rows(drawn.len());
        if rows != self.atlas.rows {
            self.atlas = Atlas::new(device, &self.pipelines.atlas_layout, self.format, rows);
        }
        let base_layer = |i: usize| (first_baseline + i) as u32;
        let uniform = Globals::new(
            width,
            height,
            self.atlas.size(),
            &frame.view,
            &drawn,
            baselines.as_ref().map(|_| &base_layer as &dyn Fn(usize) -> u32),
        );
        queue.write_buffer(&self.globals, 0, bytemuck::bytes_of(&uniform));

        // Rectangles are drawn as plain vertices, each repeated for the six
        // corners of its two triangles, not as instances of one quad: lavapipe
        // runs its whole vertex pipeline once per instance, and the 856
        // rectangles of a 1080p wall (792 of them tick marks) cost it 30 M
        // instructions a frame as instances, 10 M as vertices (valgrind,
        // `RENDER_FRAMES` in benches/render.rs). Six copies of 48 bytes each
        // are 250 KB a frame to upload.
        self.rect_list.clear();
        let corners = |r: &RectInstance| [*r; 6];
        self.rect_list.extend(self.scene.base.iter().flat_map(corners));
        self.rect_list.extend(self.scene.live.iter().flat_map(corners));
        self.rect_list.extend(self.scene.overlay.iter().flat_map(corners));
        let base_count = 6 * self.scene.base.len() as u32;
        let live_end = base_count + 6 * self.scene.live.len() as u32;
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
        // Maps of at least 256 pixels first, then those that max-pool: each
        // run is one draw with its own pipeline.
        self.quad_list.sort_by_key(pooled);
        let whole = self.quad_list.iter().filter(|q| !pooled(q)).count() as u32;
        write_instances(
            gpu,
            &mut self.map_quads,
            "map quads",
            bytemuck::cast_slice(&self.quad_list),
        );
        self.map_rects.clear();
        self.map_rects.extend(self.scene.maps.iter().map(|q| q.rect));
        self.text
            .prepare(device, queue, width, height, &self.scene.text, &self.map_rects)
            .map_err(|e| RenderError::Text(e.to_string()))?;
        // The backdrop is kept only where it can be copied into the target.
        let plan = if copy {
            self.backdrop.plan(
                (width, height),
                self.scene.clear,
                &self.scene.base,
                self.text.backdrop_hash(),
            )
        } else {
            Plan::Direct
        };

        if !drawn.is_empty() {
            let mode = mode_code(&frame.view, baselines.is_some());
            let atlas_view = self
                .atlas
                .texture
                .create_view(&wgpu::TextureViewDescriptor::default());
            let colour = self.pipelines.colour(device, self.format, mode);
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
        let bind_group = &self.bind_group;
        let atlas_group = &self.atlas.bind_group;
        let begin = |encoder: &mut wgpu::CommandEncoder,
                     view: &wgpu::TextureView,
                     label: &str,
                     load: wgpu::LoadOp<wgpu::Color>| {
            let mut pass = encoder
                .begin_render_pass(&wgpu::RenderPassDescriptor {
                    label: Some(label),
                    color_attachments: &[Some(wgpu::RenderPassColorAttachment {
                        view,
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
            pass.set_bind_group(0, bind_group, &[]);
            pass.set_bind_group(1, atlas_group, &[]);
            pass
        };
        let rects = |pass: &mut wgpu::RenderPass<'_>, range: std::ops::Range<u32>| {
            if !range.is_empty() {
                pass.set_pipeline(&self.pipelines.rect);
                pass.set_bind_group(0, bind_group, &[]);
                pass.set_bind_group(1, atlas_group, &[]);
                pass.set_vertex_buffer(0, self.rects.slice(..));
                pass.draw(range, 0..1);
            }
        };
        let [r, g, b] = self.scene.clear.map(|c| f64::from(c) / 255.0);
        let clear = wgpu::LoadOp::Clear(wgpu::Color { r, g, b, a: 1.0 });
        // Drawing order: the backdrop (the clear, base rectangles, the labels
        // clear of the maps), live rectangles, maps, the labels over maps and
        // the measurements, overlay rectangles, overlay text. Nothing after
        // the backdrop draws where a backdrop label is but the overlay, so
        // the backdrop can be a copy of an earlier frame's.
        let text = &self.text;
        let draw_backdrop = |pass: &mut wgpu::RenderPass<'_>| {
            rects(pass, 0..base_count);
            text.render_backdrop(pass)
                .map_err(|e| RenderError::Text(e.to_string()))
        };
        let mut pass = match plan {
            Plan::Direct => {
                let mut pass = begin(&mut encoder, target, "wall", clear);
                draw_backdrop(&mut pass)?;
                pass
            }
            Plan::Draw | Plan::Copy => {
                if plan == Plan::Draw {
                    log::debug!("backdrop {width}x{height} drawn ({} before)", self.backdrop.draws);
                    let texture = self.backdrop.target(device, self.format, (width, height));
                    let view = texture.create_view(&wgpu::TextureViewDescriptor::default());
                    let mut pass = begin(&mut encoder, &view, "backdrop", clear);
                    draw_backdrop(&mut pass)?;
                }
                let Some(texture) = self.backdrop.texture() else {
                    return Err(RenderError::Upload("the backdrop was not drawn".into()));
                };
                encoder.copy_texture_to_texture(
                    texture.as_image_copy(),
                    target.texture().as_image_copy(),
                    wgpu::Extent3d {
                        width,
                        height,
                        depth_or_array_layers: 1,
                    },
                );
                begin(&mut encoder, target, "wall", wgpu::LoadOp::Load)
            }
        };
        rects(&mut pass, base_count..live_end);
        if !self.quad_list.is_empty() {
            // The backdrop's text, drawn directly, left glyphon's groups bound.
            pass.set_bind_group(0, bind_group, &[]);
            pass.set_bind_group(1, atlas_group, &[]);
            pass.set_vertex_buffer(0, self.map_quads.slice(..));
            let all = self.quad_list.len() as u32;
            if whole > 0 {
                pass.set_pipeline(&self.pipelines.map);
                pass.draw(0..6, 0..whole);
            }
            if whole < all {
                pass.set_pipeline(&self.pipelines.map_pooled);
                pass.draw(0..6, whole..all);
            }
        }
        // Copied maps land between the maps drawn and the text, in a pass
        // of their own.
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
            pass = begin(&mut encoder, target, "wall", wgpu::LoadOp::Load);
        }
        text.render(false, &mut pass)
            .map_err(|e| RenderError::Text(e.to_string()))?;
        rects(&mut pass, live_end..total);
        text.render(true, &mut pass)
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
}

#[cfg(test)]
mod tests {
    use super::super::device::AdapterChoice;
    use super::super::readback::read_back;
    use super::super::resources::frame_texture;
    use super::*;
    use crate::render::ViewState;

    /// Six maps of varied values, one per default map.
    fn six_maps() -> Vec<Vec<f32>> {
        (0..6)
            .map(|i| (0..CELLS).map(|k| ((k * 7 + i * 13) % 300) as f32).collect())
            .collect()
    }

    /// The default maps showing `values`, each fed at `rate` packets a second.
    fn tiles(values: &[Vec<f32>], rate: f64) -> Vec<TileInput<'_>> {
        crate::maps::default_shown()
            .iter()
            .zip(values)
            .map(|(&m, v)| TileInput {
                def: &crate::maps::MAPS[m],
                values: v,
                rate_pps: rate,
                baseline: None,
                scale: None,
            })
            .collect()
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
        let values = six_maps();
        let frame = FrameInput {
            tiles: tiles(&values, 0.0),
            status: crate::render::StatusInfo::default(),
            view: ViewState {
                order: crate::render::CellOrder::Hilbert,
                ..ViewState::default()
            },
        };
        // A screen on which all six maps are 256 pixels wide (at 1920x1080
        // they are larger since issue #21): all copied.
        let (w, h) = (960..=1600)
            .step_by(8)
            .flat_map(|w| [(w, w * 9 / 16), (w, w * 5 / 8), (w, w * 3 / 4)])
            .find(|&(w, h)| frame.view.arrange(6, w, h).slots.iter().all(|s| s.map.w == 256))
            .expect("a size with 256-pixel maps");
        let copied = r.render_to_image(&gpu, &frame, w, h).expect("render");
        assert_eq!(r.copies.len(), 6);
        // The same frame into a target that takes no copies: all drawn.
        let mut target = Offscreen::new(&gpu.device, format, w, h);
        target.texture = frame_texture(
            &gpu.device,
            "no copies",
            format,
            (w, h),
            wgpu::TextureUsages::COPY_SRC,
        );
        target.view = target
            .texture
            .create_view(&wgpu::TextureViewDescriptor::default());
        r.render(&gpu, &frame, &target.view, w, h).expect("render");
        assert!(r.copies.is_empty());
        assert_eq!(r.quad_list.len(), 6);
        let drawn = read_back(&gpu, &target, format).expect("read back");
        assert!(copied.pixels == drawn.pixels, "copied and drawn maps differ");
    }

    /// A frame over a kept backdrop has the bytes of the same frame drawn
    /// whole, in the modes that put labels inside maps (Hilbert order), keys
    /// that change (auto), badges that move with the status line, and the
    /// presenter's caption; and a backdrop is drawn once, on its second frame.
    #[test]
    fn frames_over_a_kept_backdrop_are_the_frames_drawn_whole() {
        let Ok(gpu) = Gpu::headless(AdapterChoice::Software) else {
            eprintln!("skipped: no software adapter (install mesa-vulkan-drivers)");
            return;
        };
        let format = wgpu::TextureFormat::Rgba8Unorm;
        let values = six_maps();
        // With and without a DEMO badge: a frame with no live rectangle
        // draws its maps straight after the backdrop's text.
        let frame = |view: ViewState, rate: f64, demo: bool| FrameInput {
            tiles: tiles(&values, rate),
            status: crate::render::StatusInfo {
                source: "demo".into(),
                demo,
                packets_per_sec: rate * 6.0,
                ..Default::default()
            },
            view,
        };
        let views = [
            ViewState::default(),
            ViewState {
                order: crate::render::CellOrder::Hilbert,
                scale: crate::render::ScaleMode::Auto,
                ..ViewState::default()
            },
            ViewState {
                presenter: true,
                ..ViewState::default()
            },
            ViewState {
                layout: crate::render::LayoutKind::Focus,
                focus: 2,
                ..ViewState::default()
            },
        ];
        for (i, view) in views.into_iter().enumerate() {
            let demo = i % 2 == 1;
            let mut r = WallRenderer::new(&gpu, format);
            let first = frame(view.clone(), 1234.0, demo);
            let direct = r.render_to_image(&gpu, &first, 1920, 1080).expect("render");
            assert_eq!(r.backdrop.draws, 0, "{view:?}");
            for _ in 0..2 {
                let kept = r.render_to_image(&gpu, &first, 1920, 1080).expect("render");
                assert!(
                    kept.pixels == direct.pixels,
                    "{view:?}: differs over the backdrop"
                );
            }
            assert_eq!(r.backdrop.draws, 1, "{view:?}");
            // New measurements, wider, over the same backdrop; against a
            // renderer that draws them whole.
            let next = frame(view.clone(), 9_876_543.0, demo);
            let kept = r.render_to_image(&gpu, &next, 1920, 1080).expect("render");
            assert_eq!(r.backdrop.draws, 1, "{view:?}: the backdrop was drawn again");
            let whole = WallRenderer::new(&gpu, format)
                .render_to_image(&gpu, &next, 1920, 1080)
                .expect("render");
            assert!(
                kept.pixels == whole.pixels,
                "{view:?}: new numbers differ over the backdrop"
            );
            assert!(
                kept.pixels != direct.pixels,
                "{view:?}: the numbers did not change"
            );
        }
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
    }
}
