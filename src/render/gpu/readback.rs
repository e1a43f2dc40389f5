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
use super::resources::frame_texture;

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
        let texture = frame_texture(
            device,
            "offscreen frame",
            format,
            (width, height),
            wgpu::TextureUsages::COPY_SRC | wgpu::TextureUsages::COPY_DST,
        );
        let view = texture.create_view(&wgpu::TextureViewDescriptor::default());
        let padded_row = padded_row(width);
        let buffer = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("readback"),
            size: readback_bytes(width, height),
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

/// Bytes per row of a `width`-pixel frame in the readback buffer (rows are
/// padded to [`wgpu::COPY_BYTES_PER_ROW_ALIGNMENT`]).
fn padded_row(width: u32) -> u32 {
    let align = wgpu::COPY_BYTES_PER_ROW_ALIGNMENT;
    (width * 4).div_ceil(align) * align
}

/// The readback buffer's size for a `width` x `height` frame.
fn readback_bytes(width: u32, height: u32) -> u64 {
    u64::from(padded_row(width)) * u64::from(height)
}

/// The largest square frame whose readback buffer fits in `max_buffer` bytes
/// (at most 65,536, beyond any texture a device allows).
fn largest_square(max_buffer: u64) -> u32 {
    let mut side = (max_buffer / 4).isqrt().min(1 << 16) as u32;
    while side > 0 && readback_bytes(side, side) > max_buffer {
        side -= 1;
    }
    side
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
        let limits = gpu.device.limits();
        let max = limits.max_texture_dimension_2d;
        if width > max || height > max {
            return Err(RenderError::TooLarge { width, height, max });
        }
        // wgpu panics on a buffer over the device's limit (lavapipe's 256 MiB
        // is 8192 x 8192): refuse first, in words.
        let bytes = readback_bytes(width, height);
        if bytes > limits.max_buffer_size {
            return Err(RenderError::ReadbackTooLarge {
                width,
                height,
                bytes,
                max: limits.max_buffer_size,
                side: largest_square(limits.max_buffer_size).min(max),
            });
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_largest_square_fits_and_one_more_pixel_would_not() {
        // wgpu's default 256 MiB: 8192 x 8192 exactly.
        let max = 256 << 20;
        assert_eq!(largest_square(max), 8192);
        assert!(readback_bytes(8193, 8193) > max);
        // Padding counts: a width of 65 pixels takes a row of 512 bytes.
        assert_eq!(readback_bytes(65, 2), 1024);
        assert_eq!(largest_square(1023), 3);
        assert_eq!(largest_square(u64::MAX), 1 << 16);
        assert_eq!(largest_square(0), 0);
    }
}
