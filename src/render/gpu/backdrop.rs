//! The backdrop: the part of a frame that stays from frame to frame (the
//! clear colour, map frames, ticks, marks, a steady key, and the labels clear
//! of every map), drawn once into a texture and copied under the frames that
//! follow, so that a software renderer does not draw a thousand rectangles
//! and three hundred labels sixty times a second to the same pixels.
//!
//! Nothing of a backdrop is drawn over by a map: the labels that reach into
//! a map stay in the per-frame text (`text::STEADY`), and the rectangles
//! under the backdrop's labels are the backdrop's own, drawn first as they
//! always were. So a frame over a backdrop has the same bytes as one drawn
//! whole (`tests` in `gpu::frame`).

use super::super::scene::RectInstance;
use super::resources::frame_texture;

/// What a frame's backdrop holds: when two frames have the same, the second
/// can take the first's pixels.
#[derive(Default)]
struct Contents {
    size: (u32, u32),
    clear: [u8; 3],
    /// [`super::super::text::TextSystem::backdrop_hash`]: the labels and the target size.
    text: u64,
    /// The steady rectangles, as bytes (compared, not hashed: a wall's are
    /// about 40 KB, compared in microseconds).
    rects: Vec<u8>,
}

/// How this frame's backdrop gets into the target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Plan {
    /// Drawn into the target as part of the frame: the backdrop changed since
    /// the last frame (a resize, a new layout, a focus key), and a backdrop
    /// seen once may never be seen again (a window being dragged larger).
    Direct,
    /// The same as last frame's: drawn into the backdrop texture now, then
    /// copied; the frames after it only copy.
    Draw,
    /// Already in the backdrop texture: copied.
    Copy,
}

/// The kept backdrop and what it holds.
#[derive(Default)]
pub(super) struct Backdrop {
    /// The last frame's contents.
    seen: Contents,
    /// Whether `texture` holds `seen`.
    holds: bool,
    texture: Option<wgpu::Texture>,
    /// Backdrops drawn into the texture, for tests and the render bench.
    pub(super) draws: u64,
}

impl Backdrop {
    /// Decides how this frame's backdrop (of a `size` target cleared to
    /// `clear`, with `rects` and labels whose hash is `text`) is drawn, and
    /// remembers it for the next frame.
    pub(super) fn plan(
        &mut self,
        size: (u32, u32),
        clear: [u8; 3],
        rects: &[RectInstance],
        text: u64,
    ) -> Plan {
        let bytes: &[u8] = bytemuck::cast_slice(rects);
        let seen = &mut self.seen;
        if seen.size == size && seen.clear == clear && seen.text == text && seen.rects == bytes {
            return if self.holds { Plan::Copy } else { Plan::Draw };
        }
        seen.size = size;
        seen.clear = clear;
        seen.text = text;
        seen.rects.clear();
        seen.rects.extend_from_slice(bytes);
        self.holds = false;
        Plan::Direct
    }

    /// The texture to draw this frame's backdrop into (`Plan::Draw`): `size`
    /// in `format`, made anew when the size changed. It holds the backdrop
    /// once the caller has drawn it.
    pub(super) fn target(
        &mut self,
        device: &wgpu::Device,
        format: wgpu::TextureFormat,
        (width, height): (u32, u32),
    ) -> &wgpu::Texture {
        self.draws += 1;
        self.holds = true;
        let fits = |t: &wgpu::Texture| (t.width(), t.height(), t.format()) == (width, height, format);
        if !self.texture.as_ref().is_some_and(fits) {
            self.texture = None;
        }
        self.texture.get_or_insert_with(|| {
            frame_texture(
                device,
                "backdrop",
                format,
                (width, height),
                wgpu::TextureUsages::COPY_SRC,
            )
        })
    }

    /// The texture holding this frame's backdrop (`Plan::Copy`, or after
    /// [`Backdrop::target`]).
    pub(super) fn texture(&self) -> Option<&wgpu::Texture> {
        self.texture.as_ref().filter(|_| self.holds)
    }

    /// Forgets the contents: the next frame draws its backdrop directly
    /// (after a frame that failed half-way, the texture may not hold them).
    pub(super) fn forget(&mut self) {
        self.seen = Contents::default();
        self.holds = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::Rect;

    #[test]
    fn a_backdrop_is_drawn_on_its_second_frame_and_copied_after() {
        let mut b = Backdrop::default();
        let rects = [RectInstance::solid(Rect::new(1, 2, 3, 4), [9; 4])];
        let plan =
            |b: &mut Backdrop, size, rects: &[RectInstance], text| b.plan(size, [1, 2, 3], rects, text);
        assert_eq!(plan(&mut b, (640, 480), &rects, 7), Plan::Direct);
        assert_eq!(plan(&mut b, (640, 480), &rects, 7), Plan::Draw);
        // The caller draws it (here without a device: marked as held).
        b.holds = true;
        assert_eq!(plan(&mut b, (640, 480), &rects, 7), Plan::Copy);
        assert_eq!(plan(&mut b, (640, 480), &rects, 7), Plan::Copy);
        // Any change, of size, labels or one rectangle, starts again.
        assert_eq!(plan(&mut b, (640, 481), &rects, 7), Plan::Direct);
        assert_eq!(plan(&mut b, (640, 481), &rects, 8), Plan::Direct);
        let moved = [RectInstance::solid(Rect::new(1, 2, 3, 5), [9; 4])];
        assert_eq!(plan(&mut b, (640, 481), &moved, 8), Plan::Direct);
        assert_eq!(plan(&mut b, (640, 481), &moved, 8), Plan::Draw);
        assert!(b.texture().is_none());
        b.holds = true;
        b.forget();
        assert_eq!(plan(&mut b, (640, 481), &moved, 8), Plan::Direct);
    }
}
