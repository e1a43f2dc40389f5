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

/// A sequential colour map: eight colours placed at the paper's stop values,
/// so every scale mode and the legend work the same with any of them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ColourMap {
    /// The paper's white-blue-cyan-yellow-red-magenta-purple-black.
    #[default]
    Paper,
    /// Perceptually uniform dark purple to yellow (samples of matplotlib's viridis).
    Viridis,
    /// Colour-blind safe dark blue to yellow (samples of cividis): readable
    /// with red-green colour blindness and in greyscale.
    Cividis,
    /// Colour-blind safe white through yellow-green and blue to navy
    /// (ColorBrewer YlGnBu, which is safe for all three kinds of colour
    /// blindness): lightness falls with every stop, so it reads by lightness
    /// alone, and empty cells are white, far from the dark background.
    Ylgnbu,
}

impl ColourMap {
    /// Every colour map, in the order the key cycles through them.
    pub const ALL: [ColourMap; 4] = [
        ColourMap::Paper,
        ColourMap::Viridis,
        ColourMap::Cividis,
        ColourMap::Ylgnbu,
    ];

    /// The command-line spelling.
    pub fn name(self) -> &'static str {
        match self {
            ColourMap::Paper => "paper",
            ColourMap::Viridis => "viridis",
            ColourMap::Cividis => "cividis",
            ColourMap::Ylgnbu => "ylgnbu",
        }
    }

    /// The colour map after this one.
    pub fn next(self) -> ColourMap {
        let i = Self::ALL.iter().position(|k| *k == self).unwrap_or(0);
        Self::ALL[(i + 1) % Self::ALL.len()]
    }

    /// How a caption names this map's colour for no packets and for the
    /// most: said in words, so a caption is true in every colour map.
    pub fn words(self) -> (&'static str, &'static str) {
        match self {
            ColourMap::Paper => ("white", "purple and black"),
            ColourMap::Viridis => ("dark purple", "yellow"),
            ColourMap::Cividis => ("dark blue", "yellow"),
            ColourMap::Ylgnbu => ("white", "dark blue"),
        }
    }

    /// The stops: the paper's values with this map's colours.
    pub fn stops(self) -> [ColourStop; MAX_STOPS] {
        let colours = match self {
            ColourMap::Paper => return PAPER_SCALE,
            ColourMap::Viridis => VIRIDIS,
            ColourMap::Cividis => CIVIDIS,
            ColourMap::Ylgnbu => YLGNBU,
        };
        let mut out = PAPER_SCALE;
        for (stop, rgb) in out.iter_mut().zip(colours) {
            stop.rgb = rgb;
        }
        out
    }
}

impl std::fmt::Display for ColourMap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for ColourMap {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.iter().copied().find(|k| k.name() == s).ok_or_else(|| {
            let all: Vec<&str> = Self::ALL.iter().map(|k| k.name()).collect();
            format!(
                "unknown colour map `{s}`; the colour maps are: {}",
                all.join(", ")
            )
        })
    }
}

/// Eight samples of viridis, evenly spaced.
const VIRIDIS: [[u8; 3]; MAX_STOPS] = [
    [68, 1, 84],
    [70, 50, 126],
    [54, 92, 141],
    [39, 127, 142],
    [31, 161, 135],
    [74, 193, 109],
    [160, 218, 57],
    [253, 231, 37],
];

/// Eight samples of cividis, evenly spaced.
const CIVIDIS: [[u8; 3]; MAX_STOPS] = [
    [0, 34, 78],
    [32, 54, 110],
    [72, 80, 107],
    [105, 106, 112],
    [137, 133, 120],
    [171, 162, 115],
    [210, 193, 95],
    [253, 231, 55],
];

/// ColorBrewer's 9-class YlGnBu (Cynthia Brewer, colorbrewer2.org, Apache
/// 2.0), its cream first class replaced by white and its next-to-last class
/// left out for eight stops. Safe for deuteranopia, protanopia and
/// tritanopia: lightness alone orders it.
const YLGNBU: [[u8; 3]; MAX_STOPS] = [
    [255, 255, 255],
    [237, 248, 177],
    [199, 233, 180],
    [127, 205, 187],
    [65, 182, 196],
    [29, 145, 192],
    [34, 94, 168],
    [8, 29, 88],
];

/// The change view's diverging scale. Values are log2 of (short-term rate /
/// baseline rate): cool below the baseline, neutral at it, warm above, so a
/// sweep that starts now stands out and steady load fades to neutral.
/// Red-blue (ColorBrewer RdBu) stays distinguishable with red-green colour
/// blindness.
pub const DIVERGING_SCALE: [ColourStop; 7] = [
    ColourStop {
        value: -3.0,
        rgb: [5, 48, 97],
        label: "/8",
    },
    ColourStop {
        value: -2.0,
        rgb: [33, 102, 172],
        label: "/4",
    },
    ColourStop {
        value: -1.0,
        rgb: [103, 169, 207],
        label: "/2",
    },
    ColourStop {
        value: 0.0,
        rgb: [247, 247, 247],
        label: "=",
    },
    ColourStop {
        value: 1.0,
        rgb: [239, 138, 98],
        label: "x2",
    },
    ColourStop {
        value: 2.0,
        rgb: [178, 24, 43],
        label: "x4",
    },
    ColourStop {
        value: 3.0,
        rgb: [103, 0, 31],
        label: "x8",
    },
];

/// The colour at position `s` (0..=1) of a ramp through `stops` evenly spaced
/// by index (the log and rank modes), as the shader's `ramp_colour_of` does.
pub fn ramp_colour(stops: &[ColourStop], s: f32) -> [u8; 3] {
    let n = stops.len();
    if n < 2 {
        return stops.first().map_or([0, 0, 0], |st| st.rgb);
    }
    let p = if s.is_nan() { 0.0 } else { s.clamp(0.0, 1.0) } * (n - 1) as f32;
    // p is in 0..=n-1, so the cast is exact after floor.
    let i = (p.floor() as usize).min(n - 2);
    let t = p - i as f32;
    let (a, b) = (stops[i].rgb, stops[i + 1].rgb);
    let mut out = [0u8; 3];
    for (c, o) in out.iter_mut().enumerate() {
        let (x, y) = (f32::from(a[c]) / 255.0, f32::from(b[c]) / 255.0);
        *o = ((x + (y - x) * t) * 255.0).round().clamp(0.0, 255.0) as u8;
    }
    out
}

/// The diverging colour of a log2 rate ratio (linear between stops).
pub fn diverging_colour(x: f32) -> [u8; 3] {
    let stops = &DIVERGING_SCALE;
    if x.is_nan() {
        return stops[3].rgb;
    }
    if x <= stops[0].value {
        return stops[0].rgb;
    }
    for pair in stops.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        if x < b.value {
            let t = ((x - a.value) / (b.value - a.value)).clamp(0.0, 1.0);
            let mut out = [0u8; 3];
            for (c, o) in out.iter_mut().enumerate() {
                let (p, q) = (f32::from(a.rgb[c]) / 255.0, f32::from(b.rgb[c]) / 255.0);
                *o = ((p + (q - p) * t) * 255.0).round().clamp(0.0, 255.0) as u8;
            }
            return out;
        }
    }
    stops[stops.len() - 1].rgb
}

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
    fn colour_maps_keep_the_paper_values() {
        for map in ColourMap::ALL {
            let stops = map.stops();
            for (a, b) in stops.iter().zip(PAPER_SCALE.iter()) {
                assert_eq!(a.value, b.value);
            }
            assert_eq!(map.name().parse::<ColourMap>(), Ok(map));
            assert_eq!(ramp_colour(&stops, 1.0), stops[MAX_STOPS - 1].rgb);
            assert_eq!(ramp_colour(&stops, 0.0), stops[0].rgb);
        }
        let mut m = ColourMap::Paper;
        for _ in 0..ColourMap::ALL.len() {
            m = m.next();
        }
        assert_eq!(m, ColourMap::Paper);
        assert!("jet".parse::<ColourMap>().is_err());
    }

    /// Relative luminance (WCAG) of an sRGB colour, 0 to 1.
    fn luminance(c: [u8; 3]) -> f32 {
        let lin = |v: u8| {
            let v = f32::from(v) / 255.0;
            if v <= 0.04045 {
                v / 12.92
            } else {
                ((v + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * lin(c[0]) + 0.7152 * lin(c[1]) + 0.0722 * lin(c[2])
    }

    /// Issue #21: the paper scale is not monotonic in lightness and viridis
    /// and cividis start next to the dark background. YlGnBu gets lighter
    /// to darker at every stop (so it reads with any colour blindness, by
    /// lightness alone) and starts far from the background.
    #[test]
    fn ylgnbu_falls_in_lightness_and_starts_apart_from_the_background() {
        let stops = ColourMap::Ylgnbu.stops();
        for pair in stops.windows(2) {
            let (a, b) = (luminance(pair[0].rgb), luminance(pair[1].rgb));
            assert!(a > b * 1.1, "{:?} then {:?}", pair[0], pair[1]);
        }
        let background = luminance(crate::render::scene::BACKGROUND);
        assert!(luminance(stops[0].rgb) > 0.9 && background < 0.02);
        assert_eq!("ylgnbu".parse::<ColourMap>(), Ok(ColourMap::Ylgnbu));
        let err = "jet".parse::<ColourMap>().unwrap_err();
        assert!(err.contains("ylgnbu"), "{err}");
    }

    #[test]
    fn diverging_is_neutral_at_the_baseline_and_warm_above() {
        assert_eq!(diverging_colour(0.0), [247, 247, 247]);
        assert_eq!(diverging_colour(9.0), [103, 0, 31]);
        assert_eq!(diverging_colour(-9.0), [5, 48, 97]);
        let warm = diverging_colour(1.0);
        let cool = diverging_colour(-1.0);
        assert!(warm[0] > warm[2] && cool[2] > cool[0]);
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
