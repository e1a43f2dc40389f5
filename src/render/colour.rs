//! The colour scale, declared once as data.
//!
//! The shader, the legend and the tests all read [`PAPER_SCALE`]; nothing else
//! spells out a stop. [`colour_for`] mirrors the shader's arithmetic on the CPU
//! so tests can predict interpolated colours and the hover readout can show a
//! swatch without asking the GPU.

/// One stop of a colour scale: a cell holding exactly `value` is drawn `rgb`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ColourStop {
    /// The decayed count at which this colour is reached.
    pub value: f32,
    /// The colour, as sRGB bytes (written unchanged to a non-sRGB target).
    pub rgb: [u8; 3],
    /// How the legend names the stop ("0", "4", ..., "255+").
    pub label: &'static str,
}

/// Most stops a scale may have: the shader's uniform array is this long.
pub const MAX_STOPS: usize = 8;

/// The paper's scale: the stops double, so small counts change colour quickly
/// and large ones slowly; 255 and above is black.
pub const PAPER_SCALE: [ColourStop; MAX_STOPS] = [
    ColourStop {
        value: 0.0,
        rgb: [255, 255, 255],
        label: "0",
    },
    ColourStop {
        value: 4.0,
        rgb: [0, 0, 255],
        label: "4",
    },
    ColourStop {
        value: 8.0,
        rgb: [0, 255, 255],
        label: "8",
    },
    ColourStop {
        value: 16.0,
        rgb: [255, 255, 0],
        label: "16",
    },
    ColourStop {
        value: 32.0,
        rgb: [255, 0, 0],
        label: "32",
    },
    ColourStop {
        value: 64.0,
        rgb: [255, 0, 255],
        label: "64",
    },
    ColourStop {
        value: 128.0,
        rgb: [128, 0, 128],
        label: "128",
    },
    ColourStop {
        value: 255.0,
        rgb: [0, 0, 0],
        label: "255+",
    },
];

/// Where between two stops a value lies, in 0..=1.
///
/// From a zero stop the scale is linear (log2 of 0 is undefined); between
/// positive stops it is linear in log2, so every doubling gets the same share
/// of colour change. The shader does the same sums in the same order.
fn fraction(value: f32, from: f32, to: f32) -> f32 {
    let t = if from <= 0.0 {
        (value - from) / (to - from)
    } else {
        (value.log2() - from.log2()) / (to.log2() - from.log2())
    };
    t.clamp(0.0, 1.0)
}

/// The colour the shader gives `value`, computed on the CPU (may differ from
/// the GPU by one step of rounding between stops; exact at the stops).
pub fn colour_for(value: f32) -> [u8; 3] {
    colour_on(&PAPER_SCALE, value)
}

/// [`colour_for`] on any scale (stops sorted by value, at least one).
pub fn colour_on(stops: &[ColourStop], value: f32) -> [u8; 3] {
    let Some(first) = stops.first() else {
        return [0, 0, 0];
    };
    // NaN shows as "nothing counted".
    if value.is_nan() || value <= first.value {
        return first.rgb;
    }
    for pair in stops.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        if value < b.value {
            let t = fraction(value, a.value, b.value);
            let mut out = [0u8; 3];
            for (c, o) in out.iter_mut().enumerate() {
                let (x, y) = (f32::from(a.rgb[c]) / 255.0, f32::from(b.rgb[c]) / 255.0);
                let v = x + (y - x) * t;
                // Truncation is safe: v is clamped to 0..=255 first.
                *o = (v * 255.0).round().clamp(0.0, 255.0) as u8;
            }
            return out;
        }
    }
    stops.last().map_or([0, 0, 0], |s| s.rgb)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stops_are_sorted_and_reproduced_exactly() {
        for pair in PAPER_SCALE.windows(2) {
            assert!(pair[0].value < pair[1].value);
        }
        for stop in PAPER_SCALE {
            assert_eq!(colour_for(stop.value), stop.rgb, "stop {}", stop.label);
        }
    }

    #[test]
    fn between_stops_interpolates_in_log_space() {
        // 2 is half-way (linearly) from white to blue.
        assert_eq!(colour_for(2.0), [128, 128, 255]);
        // sqrt(4*8) is half-way in log2 from blue to cyan.
        assert_eq!(colour_for((32.0f32).sqrt()), [0, 128, 255]);
        assert_eq!(colour_for(1000.0), [0, 0, 0]);
        assert_eq!(colour_for(-3.0), [255, 255, 255]);
        assert_eq!(colour_for(f32::NAN), [255, 255, 255]);
    }
}
