//! The frame side's scale numbers: per shown map, what each scale mode needs
//! this frame (peaks, rank tables, the auto gain's smoothing), and the tiles
//! the renderer draws with them.

use crate::counting::{HalfLife, MapFrame};
use crate::maps::MAPS;
use crate::render::TileInput;
use crate::render::scale::{self, AutoGain, MapScale, MapStats, ScaleMode};

/// The tiles of `frame`, in order, for the renderer (with baselines, without
/// scale numbers: enough for the paper scale; see [`scaled_tiles`]).
pub fn tiles(frame: &MapFrame) -> Vec<TileInput<'_>> {
    frame
        .maps
        .iter()
        .zip(&frame.values)
        .zip(&frame.rates_pps)
        .enumerate()
        .map(|(i, ((&m, values), &rate_pps))| TileInput {
            def: &MAPS[m],
            values,
            rate_pps,
            baseline: frame
                .baselines
                .get(i)
                .filter(|_| frame.baselines_read)
                .map(Vec::as_slice),
            scale: None,
        })
        .collect()
}

/// The tiles of `frame` with the scale numbers `scales` computed for it, so
/// every scale mode and the change view can be drawn.
pub fn scaled_tiles<'a>(frame: &'a MapFrame, scales: &'a FrameScales) -> Vec<TileInput<'a>> {
    let mut t = tiles(frame);
    for (tile, scale) in t.iter_mut().zip(&scales.scales) {
        tile.scale = Some(scale);
    }
    t
}

/// The frame side's scale state: per shown map, this frame's scale numbers
/// and the auto gain's smoothing. Updated once per frame read. The rank
/// table (a log2 histogram of every cell, most of a frame's CPU time) is
/// built only while a mode that uses it is shown (auto, rank); the auto gain
/// starts again from its target when such a mode is switched on, so the
/// first frame is as settled as any.
#[derive(Debug, Default)]
pub struct FrameScales {
    scales: Vec<MapScale>,
    gains: Vec<AutoGain>,
}

impl FrameScales {
    /// Computes the numbers `mode` needs for `frame`, whose short-term decay
    /// has `half_life` and whose baseline (if any) has `baseline`.
    pub fn update(
        &mut self,
        frame: &MapFrame,
        half_life: HalfLife,
        baseline: Option<HalfLife>,
        mode: ScaleMode,
    ) {
        let n = frame.values.len();
        self.scales.resize_with(n, MapScale::default);
        self.gains.resize(n, AutoGain::default());
        let at = frame.at_ns.unwrap_or(0);
        let since = frame.totals.first_ts.map_or(0, |first| at.saturating_sub(first));
        let short_rate = scale::rate_per_value(half_life.as_nanos(), since);
        let baseline_rate = baseline.map_or(0.0, |b| scale::rate_per_value(b.as_nanos(), since));
        let ranked = matches!(mode, ScaleMode::Auto | ScaleMode::Rank);
        // Peaks found by the read, when the frame has them for every map.
        let peaks = Some(&frame.peaks).filter(|p| p.len() == n);
        for (i, ((values, s), gain)) in frame
            .values
            .iter()
            .zip(&mut self.scales)
            .zip(&mut self.gains)
            .enumerate()
        {
            if ranked {
                s.fill_ranks(values, &MapStats::of(values));
                s.gain = match frame.at_ns {
                    Some(at) => gain.update(s.auto_gain_target(), at),
                    None => 1.0,
                };
            } else {
                s.max = peaks.map_or_else(|| crate::counting::peak(values), |p| p[i]);
                s.gain = 1.0;
                *gain = AutoGain::default();
            }
            s.short_rate = short_rate;
            s.baseline_rate = baseline_rate;
        }
    }

    /// The numbers of each shown map, in tile order.
    pub fn scales(&self) -> &[MapScale] {
        &self.scales
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rank_tables_are_built_only_for_the_modes_that_use_them() {
        use crate::counting::{Counters, Decay, FrameReader, HalfLife};
        use crate::render::scale::AUTO_MEDIAN_AT;
        let syn = crate::maps::by_name("syn").expect("syn");
        let counters = Counters::new(vec![syn], Decay::NONE);
        let mut w = counters.writer();
        let facts = crate::parse::PacketFacts {
            flags: crate::parse::PacketFacts::TCP
                | crate::parse::PacketFacts::L4_PRESENT
                | crate::parse::PacketFacts::SYN_ONLY,
            ..Default::default()
        };
        for key in 0..100u16 {
            for _ in 0..=key {
                w.add(
                    1_000_000_000,
                    &crate::parse::PacketFacts {
                        dst_low16: key,
                        ..facts
                    },
                );
            }
        }
        w.flush();
        let mut reader = FrameReader::new(counters.clone(), vec![syn]);
        let frame = reader.read(None);
        let mut scales = FrameScales::default();
        let h = HalfLife::parse("10s").expect("half-life");
        scales.update(frame, h, None, ScaleMode::Paper);
        let paper = scales.scales()[0].clone();
        assert_eq!(paper.max, 100.0);
        assert_eq!((paper.rank_lo, paper.rank_hi, paper.gain), (0.0, 0.0, 1.0));
        scales.update(frame, h, None, ScaleMode::Auto);
        let auto = scales.scales()[0].clone();
        assert_eq!((auto.rank_lo, auto.rank_hi), (0.0, 100f32.log2()));
        // The first auto frame takes its target as is: the median (about 50)
        // goes to the middle stop.
        assert!(
            (auto.gain - AUTO_MEDIAN_AT / auto.value_at_rank(0.5)).abs() < 1e-3,
            "{}",
            auto.gain
        );
        scales.update(frame, h, None, ScaleMode::Rank);
        assert_eq!(scales.scales()[0].rank_cdf, auto.rank_cdf);
    }
}
