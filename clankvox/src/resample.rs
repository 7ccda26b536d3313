//! A streaming windowed-sinc resampler for mono s16 PCM.
//!
//! Blackman-windowed sinc, 16 zero crossings per side, cutoff 0.45 × min(rate). Unlike a
//! stateless per-call resampler, the filter history carries across `process` calls, so chunk
//! boundaries are filtered like any other sample. The stream is delayed by half the filter
//! (about 1 ms); in exchange, when the output rate divides the input evenly every call yields
//! exactly `input_len × out / in` samples.

const ZERO_CROSSINGS: f64 = 16.0;
const CUTOFF: f64 = 0.45;
/// Phases above this are computed on the fly instead of tabulated.
const MAX_TABLE_PHASES: u64 = 2048;

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// The filter's dot product in eight independent lanes: the compiler keeps them in SIMD
/// registers, where one running sum would serialise every add (float addition does not
/// reassociate). The order is fixed, so the output is as deterministic as before.
#[inline(always)]
fn dot(x: &[f32], h: &[f32]) -> f32 {
    let mut lanes = [0f32; 8];
    let (xs, hs) = (x.chunks_exact(8), h.chunks_exact(8));
    let (x_rest, h_rest) = (xs.remainder(), hs.remainder());
    for (a, b) in xs.zip(hs) {
        for k in 0..8 {
            lanes[k] += a[k] * b[k];
        }
    }
    let mut sum = ((lanes[0] + lanes[4]) + (lanes[1] + lanes[5]))
        + ((lanes[2] + lanes[6]) + (lanes[3] + lanes[7]));
    for (a, b) in x_rest.iter().zip(h_rest) {
        sum += a * b;
    }
    sum
}

/// Outputs computed together: [`dot`]'s eight lanes form one dependency chain per output, so
/// four outputs side by side keep the adder busy.
const BATCH: usize = 4;

/// One output of the tabulated filter: where its window starts in the history and where its
/// phase's taps start in the table.
type Job = (usize, usize);
/// Jobs handed to the kernel in one call: a 20 ms frame's worth at 48 kHz.
const JOBS_PER_RUN: usize = 960;

/// Every job's output, [`BATCH`] at a time in AVX registers (one 256-bit register holds one
/// output's eight lanes). AVX without FMA, and every lane adds the same products in the same
/// order as [`dot`] (the final reduction pairs the same lanes), so the samples are bit for bit
/// those of the portable path.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
fn filter_avx(hist: &[f32], table: &[f32], taps: usize, jobs: &[Job], out: &mut Vec<i16>) {
    use std::arch::x86_64::*;
    assert!(jobs
        .iter()
        .all(|&(x, h)| x + taps <= hist.len() && h + taps <= table.len()));
    let whole = taps / 8 * 8;
    let mut batches = jobs.chunks_exact(BATCH);
    for batch in &mut batches {
        let mut acc = [_mm256_setzero_ps(); BATCH];
        let mut i = 0;
        while i < whole {
            for (b, &(x, h)) in batch.iter().enumerate() {
                // SAFETY: `i + 8 <= whole <= taps`, and every job's window and taps lie inside
                // `hist` and `table` (asserted above).
                let (xv, hv) = unsafe {
                    (
                        _mm256_loadu_ps(hist.as_ptr().add(x + i)),
                        _mm256_loadu_ps(table.as_ptr().add(h + i)),
                    )
                };
                acc[b] = _mm256_add_ps(acc[b], _mm256_mul_ps(xv, hv));
            }
            i += 8;
        }
        for (b, &(x, h)) in batch.iter().enumerate() {
            // [l0+l4, l1+l5, l2+l6, l3+l7], then (v0+v1) + (v2+v3): dot's order.
            let v = _mm_add_ps(
                _mm256_castps256_ps128(acc[b]),
                _mm256_extractf128_ps::<1>(acc[b]),
            );
            let pairs = _mm_add_ps(v, _mm_movehdup_ps(v));
            let mut sum = _mm_cvtss_f32(pairs) + _mm_cvtss_f32(_mm_movehl_ps(pairs, pairs));
            for (a, c) in hist[x + whole..x + taps]
                .iter()
                .zip(&table[h + whole..h + taps])
            {
                sum += a * c;
            }
            out.push(to_i16(sum));
        }
    }
    for &(x, h) in batches.remainder() {
        out.push(to_i16(dot(&hist[x..x + taps], &table[h..h + taps])));
    }
}

/// Every job's output with [`dot`], on any CPU.
fn filter_portable(hist: &[f32], table: &[f32], taps: usize, jobs: &[Job], out: &mut Vec<i16>) {
    for &(x, h) in jobs {
        out.push(to_i16(dot(&hist[x..x + taps], &table[h..h + taps])));
    }
}

/// The filter kernel this CPU runs best.
#[derive(Clone, Copy)]
enum Kernel {
    Portable,
    #[cfg(target_arch = "x86_64")]
    Avx,
}

impl Kernel {
    fn detect() -> Self {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx") {
            return Kernel::Avx;
        }
        Kernel::Portable
    }

    fn run(self, hist: &[f32], table: &[f32], taps: usize, jobs: &[Job], out: &mut Vec<i16>) {
        match self {
            Kernel::Portable => filter_portable(hist, table, taps, jobs, out),
            // SAFETY: `Avx` is only chosen when the CPU reports AVX.
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx => unsafe { filter_avx(hist, table, taps, jobs, out) },
        }
    }
}

/// Round half away from zero and saturate, inline (`f32::round` is a libm call without SSE4.1).
fn to_i16(x: f32) -> i16 {
    let c = x.clamp(-32768.0, 32767.0);
    (if c >= 0.0 { c + 0.5 } else { c - 0.5 }) as i16
}

/// Resampler state for one stream.
pub struct Resampler {
    in_rate: u32,
    out_rate: u32,
    /// Output step in input samples is `m / l`.
    l: u64,
    m: u64,
    /// Half the filter length in input samples.
    half: i64,
    /// Cutoff in cycles per input sample.
    fc: f64,
    table: Option<Vec<f32>>,
    kernel: Kernel,
    /// The outputs of one `process` call (kept to reuse its allocation).
    jobs: Vec<Job>,
    /// Input history; `hist[0]` is absolute stream index `hist_start`.
    hist: Vec<f32>,
    hist_start: i64,
    /// Absolute stream index and phase (numerator over `l`) of the next output sample.
    pos: i64,
    phase: u64,
    /// Total samples in the (zero-prefixed) stream so far.
    available: i64,
}

impl Resampler {
    pub fn new(in_rate: u32, out_rate: u32) -> Self {
        let g = gcd(u64::from(in_rate), u64::from(out_rate)).max(1);
        let l = u64::from(out_rate) / g;
        let m = u64::from(in_rate) / g;
        let fc = CUTOFF * f64::from(in_rate.min(out_rate)) / f64::from(in_rate);
        let half = (ZERO_CROSSINGS / (2.0 * fc)).ceil() as i64;
        let mut r = Self {
            in_rate,
            out_rate,
            l,
            m,
            half,
            fc,
            table: None,
            kernel: Kernel::detect(),
            jobs: Vec::new(),
            // A zero prefix of 2·half−1 samples, with the first output centred at half−1, makes
            // output k computable as soon as input sample k·in/out has arrived.
            hist: vec![0.0; (2 * half - 1) as usize],
            hist_start: 0,
            pos: half - 1,
            phase: 0,
            available: 2 * half - 1,
        };
        if in_rate != out_rate && l <= MAX_TABLE_PHASES {
            let taps = (2 * half) as usize;
            let mut t = Vec::with_capacity(l as usize * taps);
            for p in 0..l {
                t.extend(r.coefficients(p as f64 / l as f64));
            }
            r.table = Some(t);
        }
        r
    }

    pub fn in_rate(&self) -> u32 {
        self.in_rate
    }

    pub fn out_rate(&self) -> u32 {
        self.out_rate
    }

    /// Filter taps for an output at fractional offset `frac` past an input sample, for inputs at
    /// offsets `-half+1 ..= half`, normalised to unity DC gain.
    fn coefficients(&self, frac: f64) -> Vec<f32> {
        let h = self.half as f64;
        let mut c: Vec<f64> = ((-self.half + 1)..=self.half)
            .map(|j| {
                let d = j as f64 - frac;
                let x = 2.0 * self.fc * d;
                let sinc = if x.abs() < 1e-12 {
                    1.0
                } else {
                    (std::f64::consts::PI * x).sin() / (std::f64::consts::PI * x)
                };
                let w = if d.abs() >= h {
                    0.0
                } else {
                    let a = std::f64::consts::PI * d / h;
                    0.42 + 0.5 * a.cos() + 0.08 * (2.0 * a).cos()
                };
                sinc * w
            })
            .collect();
        let sum: f64 = c.iter().sum();
        if sum.abs() > 1e-12 {
            c.iter_mut().for_each(|v| *v /= sum);
        }
        c.into_iter().map(|v| v as f32).collect()
    }

    /// Feed a chunk; returns every output sample that is now computable.
    pub fn process(&mut self, input: &[i16]) -> Vec<i16> {
        if self.in_rate == self.out_rate {
            return input.to_vec();
        }
        self.hist.extend(input.iter().map(|&s| f32::from(s)));
        self.available += input.len() as i64;
        let mut out =
            Vec::with_capacity((input.len() as u64 * self.l / self.m.max(1)) as usize + 2);
        let taps = (2 * self.half) as usize;
        if let Some(t) = &self.table {
            // Where each computable output's window and phase start; then all of them at once.
            // At most JOBS_PER_RUN at a time, so a long chunk (a second of TTS) needs no more.
            while self.pos + self.half < self.available {
                self.jobs.clear();
                while self.pos + self.half < self.available && self.jobs.len() < JOBS_PER_RUN {
                    let first = (self.pos - self.half + 1 - self.hist_start) as usize;
                    self.jobs.push((first, self.phase as usize * taps));
                    self.phase += self.m;
                    self.pos += (self.phase / self.l) as i64;
                    self.phase %= self.l;
                }
                self.kernel.run(&self.hist, t, taps, &self.jobs, &mut out);
            }
        } else {
            while self.pos + self.half < self.available {
                let first = (self.pos - self.half + 1 - self.hist_start) as usize;
                let h = self.coefficients(self.phase as f64 / self.l as f64);
                out.push(to_i16(dot(&self.hist[first..first + taps], &h)));
                self.phase += self.m;
                self.pos += (self.phase / self.l) as i64;
                self.phase %= self.l;
            }
        }
        // Keep only what the next output still needs.
        let keep_from = self.pos - self.half + 1;
        if keep_from > self.hist_start {
            let drop = ((keep_from - self.hist_start) as usize).min(self.hist.len());
            self.hist.drain(..drop);
            self.hist_start += drop as i64;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(rate: u32, freq: f64, n: usize, amp: f64) -> Vec<i16> {
        (0..n)
            .map(|i| {
                (amp * (2.0 * std::f64::consts::PI * freq * i as f64 / f64::from(rate)).sin())
                    as i16
            })
            .collect()
    }

    fn rms(x: &[i16]) -> f64 {
        (x.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / x.len() as f64).sqrt()
    }

    #[test]
    fn integer_ratios_give_exact_chunk_sizes() {
        for (inr, outr, want) in [
            (48_000, 24_000, 480),
            (48_000, 16_000, 320),
            (24_000, 48_000, 1920),
        ] {
            let mut r = Resampler::new(inr, outr);
            for _ in 0..5 {
                assert_eq!(r.process(&[1000; 960]).len(), want, "{inr}->{outr}");
            }
        }
    }

    #[test]
    fn fractional_ratio_adds_up() {
        let mut r = Resampler::new(22_050, 48_000);
        let total: usize = (0..100).map(|_| r.process(&[0; 441]).len()).sum();
        // 44 100 input samples at 22.05 kHz = 2 s = 96 000 output samples.
        assert!((96_000 - total as i64).abs() <= 1, "{total}");
    }

    #[test]
    fn passband_tone_keeps_its_level() {
        let input = tone(48_000, 1000.0, 48_000, 10_000.0);
        let mut r = Resampler::new(48_000, 16_000);
        let out: Vec<i16> = input.chunks(960).flat_map(|c| r.process(c)).collect();
        let got = rms(&out[1000..]);
        let want = 10_000.0 / 2f64.sqrt();
        assert!((got / want - 1.0).abs() < 0.02, "rms {got} vs {want}");
    }

    #[test]
    fn stopband_tone_is_removed_not_aliased() {
        // 12 kHz cannot exist at 16 kHz; without filtering it would alias to 4 kHz.
        let input = tone(48_000, 12_000.0, 48_000, 10_000.0);
        let mut r = Resampler::new(48_000, 16_000);
        let out: Vec<i16> = input.chunks(960).flat_map(|c| r.process(c)).collect();
        let got = rms(&out[1000..]);
        assert!(got < 10_000.0 * 0.01, "residual rms {got}");
    }

    #[test]
    fn chunking_does_not_change_the_output() {
        let input = tone(24_000, 440.0, 24_000, 8_000.0);
        let mut whole = Resampler::new(24_000, 48_000);
        let a = whole.process(&input);
        let mut parts = Resampler::new(24_000, 48_000);
        let b: Vec<i16> = input.chunks(137).flat_map(|c| parts.process(c)).collect();
        assert_eq!(a, b);
    }

    #[test]
    fn the_detected_kernel_matches_the_portable_one_bit_for_bit() {
        // A sweep plus a second tone near full scale: every tap and the rounding matter.
        let input: Vec<i16> = (0..48_000)
            .map(|i| {
                let t = f64::from(i);
                (20_000.0 * (t * t * 1e-6).sin() + 9_000.0 * (t * 0.31).sin()) as i16
            })
            .collect();
        for (inr, outr, chunk) in [
            (48_000, 24_000, 960),
            (48_000, 16_000, 960),
            (24_000, 48_000, 480),
            (22_050, 48_000, 441),
        ] {
            let mut fast = Resampler::new(inr, outr);
            let mut portable = Resampler::new(inr, outr);
            portable.kernel = Kernel::Portable;
            for c in input.chunks(chunk) {
                assert_eq!(fast.process(c), portable.process(c), "{inr}->{outr}");
            }
        }
    }

    #[test]
    fn same_rate_is_identity() {
        let mut r = Resampler::new(48_000, 48_000);
        assert_eq!(r.process(&[1, 2, 3]), vec![1, 2, 3]);
    }

    #[test]
    fn odd_rate_uses_on_the_fly_coefficients() {
        let mut r = Resampler::new(47_999, 48_000);
        assert!(r.table.is_none());
        let out = r.process(&tone(47_999, 500.0, 4_800, 5_000.0));
        assert!((out.len() as i64 - 4_800).abs() <= 2);
    }
}
