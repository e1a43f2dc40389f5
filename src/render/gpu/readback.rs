//! Getting a frame off the GPU: the offscreen target a snapshot is drawn
//! into, and the copy of its pixels back to memory as an RGBA image.
//!
//! Used by `scanwall snapshot`, the window's screenshot key, `soak` and the
//! pixel-comparing tests. The target and its readback buffer are kept for the
//! next frame of the same size, since snapshots often come in a loop.

use super::super::image::RgbaImage;
use super::super::{FrameInput, RenderError};
use super::device::Gpu;
use super::frame::WallRenderer;

/// An offscreen frame and the buffer it is read back through.
pub(super) struct Offscreen {
    /// The frame drawn.
    pub texture: wgpu::Texture,
    /// A view of all of it, to draw into.
    pub view: wgpu::TextureView,
    /// Where its pixels are copied to be mapped.
    pub buffer: wgpu::Buffer,
    /// Bytes per row in `buffer` (rows are padded to 256 bytes).
    pub padded_row: u32,
}

impl Offscreen {
    /// A `width` x `height` target of `format` and a buffer to read it through.
    pub(super) fn new(
        device: &wgpu::Device,
        format: wgpu::TextureFormat,
        width: u32,
        height: u32,
    ) -> Offscreen {
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

impl WallRenderer {
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
pub(super) fn read_back(
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
