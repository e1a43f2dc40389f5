//! A rendered frame in memory, and its PNG encoding.

use std::io::Write;
use std::path::Path;

use super::RenderError;

/// An 8-bit RGBA image, rows top to bottom, no padding: what a snapshot or a
/// screenshot produces and what tests inspect.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RgbaImage {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// `width * height * 4` bytes.
    pub pixels: Vec<u8>,
}

impl RgbaImage {
    /// The pixel at (x, y), or `None` outside the image.
    pub fn pixel(&self, x: u32, y: u32) -> Option<[u8; 4]> {
        if x >= self.width || y >= self.height {
            return None;
        }
        let i = ((y as usize) * (self.width as usize) + x as usize) * 4;
        let p = self.pixels.get(i..i + 4)?;
        Some([p[0], p[1], p[2], p[3]])
    }

    /// The RGB of the pixel at (x, y), or `None` outside the image.
    pub fn rgb(&self, x: u32, y: u32) -> Option<[u8; 3]> {
        self.pixel(x, y).map(|[r, g, b, _]| [r, g, b])
    }

    /// Encodes the image as PNG into `out`.
    pub fn write_png_to<W: Write>(&self, out: W) -> Result<(), RenderError> {
        let mut encoder = png::Encoder::new(out, self.width, self.height);
        encoder.set_color(png::ColorType::Rgba);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header()?;
        writer.write_image_data(&self.pixels)?;
        writer.finish()?;
        Ok(())
    }

    /// Writes the image as a PNG file; the file appears complete or not at
    /// all (written beside it, then renamed), so a watcher never sees half.
    pub fn write_png(&self, path: &Path) -> Result<(), RenderError> {
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".tmp");
        let tmp = std::path::PathBuf::from(tmp);
        {
            let file = std::fs::File::create(&tmp)?;
            let mut buf = std::io::BufWriter::new(file);
            self.write_png_to(&mut buf)?;
            buf.flush()?;
        }
        std::fs::rename(&tmp, path)?;
        Ok(())
    }

    /// Decodes a PNG (8-bit RGB or RGBA), e.g. a reference image in a test.
    pub fn read_png(path: &Path) -> Result<RgbaImage, RenderError> {
        let bad = |e: png::DecodingError| RenderError::Readback(format!("{}: {e}", path.display()));
        let file = std::io::BufReader::new(std::fs::File::open(path)?);
        let mut decoder = png::Decoder::new(file);
        decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
        let mut reader = decoder.read_info().map_err(bad)?;
        let size = reader
            .output_buffer_size()
            .ok_or_else(|| RenderError::Readback(format!("{}: image too large", path.display())))?;
        let mut buf = vec![0; size];
        let info = reader.next_frame(&mut buf).map_err(bad)?;
        buf.truncate(info.buffer_size());
        let pixels = match info.color_type {
            png::ColorType::Rgba => buf,
            png::ColorType::Rgb => buf
                .chunks_exact(3)
                .flat_map(|p| [p[0], p[1], p[2], 255])
                .collect(),
            png::ColorType::Grayscale => buf.iter().flat_map(|&g| [g, g, g, 255]).collect(),
            png::ColorType::GrayscaleAlpha => buf
                .chunks_exact(2)
                .flat_map(|p| [p[0], p[0], p[0], p[1]])
                .collect(),
            png::ColorType::Indexed => {
                return Err(RenderError::Readback(format!(
                    "{}: unexpanded palette image",
                    path.display()
                )));
            }
        };
        Ok(RgbaImage {
            width: info.width,
            height: info.height,
            pixels,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn png_round_trip() {
        let img = RgbaImage {
            width: 3,
            height: 2,
            pixels: (0..24).collect(),
        };
        let dir = std::env::temp_dir().join(format!("scanwall-png-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("a.png");
        img.write_png(&path).expect("write");
        assert_eq!(RgbaImage::read_png(&path).expect("read"), img);
        assert_eq!(img.pixel(2, 1), Some([20, 21, 22, 23]));
        assert_eq!(img.pixel(3, 0), None);
        std::fs::remove_dir_all(&dir).ok();
    }
}
