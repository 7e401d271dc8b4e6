//! [`Primitives`] that answer later, as data: each primitive a composition
//! asks for becomes a [`Job`], which whoever runs the core carries out (the
//! browser with WebCrypto, `app::webcrypto::complete`) and hands back with
//! [`Deferred::answer`]. Until then the composition gets
//! [`TrustError::Later`]; run again, it finds its answers and goes further.
//! The core stays synchronous and free of I/O, as it is with requests to
//! the server.
//!
//! Answers are kept until [`Deferred::clear`], so that each run of a
//! composition finds every answer of the runs before it. A seal's nonce is
//! drawn when the job is first asked for, and the job is found again by its
//! key, data and plaintext alone, so running again draws no other nonce:
//! with a seeded source the values are the same bytes as [`RustCrypto`]'s
//! (`vectors.rs` checks it).
//!
//! [`RustCrypto`]: super::rust_crypto::RustCrypto

use super::error::TrustError;
use super::primitives::{Primitives, NONCE_LEN, SIGNATURE_LEN};
use super::random::{self, Entropy, GivenBytes};

/// One primitive to carry out, with its inputs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Job {
    /// AES-256-GCM: answers the ciphertext and tag.
    Seal {
        key: [u8; 32],
        nonce: [u8; NONCE_LEN],
        aad: Vec<u8>,
        plaintext: Vec<u8>,
    },
    /// AES-256-GCM: answers the plaintext, or a refusal.
    Open {
        key: [u8; 32],
        nonce: [u8; NONCE_LEN],
        aad: Vec<u8>,
        sealed: Vec<u8>,
    },
    /// Ed25519: answers the public key of the secret seed.
    SigningPublic { seed: [u8; 32] },
    /// Ed25519: answers the signature.
    Sign { seed: [u8; 32], message: Vec<u8> },
    /// Ed25519: answers nothing if the signature checks, else a refusal.
    Verify {
        public: [u8; 32],
        message: Vec<u8>,
        signature: Vec<u8>,
    },
    /// X25519: answers the public key of the secret.
    AgreementPublic { secret: [u8; 32] },
    /// X25519: answers the shared secret, or a refusal.
    Agree { secret: [u8; 32], public: [u8; 32] },
}

/// How a job came out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Its output (empty for a signature that checks).
    Done(Vec<u8>),
    /// The input failed its check.
    Refused,
    /// The platform could not carry it out; its words, for a developer.
    Unavailable(String),
}

/// The most runs [`Deferred::run`] gives one composition. A run that
/// answers [`TrustError::Later`] must have asked for something new, and a
/// composition runs once per primitive it waits for in turn (making every
/// stored form of `vectors.rs` takes thirteen runs). One that asks for new
/// jobs on every run (drawing new random bytes each time, against the
/// port's rule) is stopped here rather than run for ever.
pub const MAX_ROUNDS: u32 = 1_000;

/// What one run of a composition came to ([`Deferred::run`]).
#[derive(Debug, PartialEq, Eq)]
pub enum Step<T> {
    /// It is done (or cannot be): its result; the answers are forgotten.
    Done(Result<T, TrustError>),
    /// Carry these jobs out, hand their outcomes back with
    /// [`Deferred::answer`], and run it again.
    Carry(Vec<Job>),
}

/// Jobs asked for, and the answers handed back. See the module
/// documentation.
#[derive(Debug, Default)]
pub struct Deferred {
    asked: Vec<Job>,
    answered: Vec<(Job, Outcome)>,
    /// Runs of the composition under way ([`Deferred::run`]).
    rounds: u32,
}

impl Deferred {
    pub fn new() -> Deferred {
        Deferred::default()
    }

    /// The jobs asked for since the last call, each handed out once.
    pub fn take_jobs(&mut self) -> Vec<Job> {
        std::mem::take(&mut self.asked)
    }

    /// How `job` came out.
    pub fn answer(&mut self, job: Job, outcome: Outcome) {
        self.answered.push((job, outcome));
    }

    /// Forgets every answer (the compositions that needed them are done).
    pub fn clear(&mut self) {
        self.asked.clear();
        self.answered.clear();
        self.rounds = 0;
    }

    /// Runs `composition` once, and says what comes next: the jobs to carry
    /// out before it runs again, or its result (then every answer is
    /// forgotten). The one decision behind both loops that carry jobs out,
    /// [`complete`] natively and `app::webcrypto::complete` with WebCrypto.
    ///
    /// A run that answers [`TrustError::Later`] without asking for anything
    /// new, or the [`MAX_ROUNDS`]th, ends it with [`TrustError::NoCrypto`]:
    /// waiting longer would change nothing.
    pub fn run<T>(
        &mut self,
        composition: &mut impl FnMut(&mut Deferred) -> Result<T, TrustError>,
    ) -> Step<T> {
        self.rounds += 1;
        let result = match composition(self) {
            Err(TrustError::Later) => {
                let jobs = self.take_jobs();
                if !jobs.is_empty() && self.rounds < MAX_ROUNDS {
                    return Step::Carry(jobs);
                }
                Err(TrustError::NoCrypto)
            }
            done => done,
        };
        self.clear();
        Step::Done(result)
    }

    /// Where the answer to the first job `matches` finds is, else `job()`
    /// is asked for (once) and the caller is told to come back later.
    fn ask(
        &mut self,
        matches: impl Fn(&Job) -> bool,
        job: impl FnOnce() -> Result<Job, TrustError>,
    ) -> Result<usize, TrustError> {
        if let Some(at) = self.answered.iter().position(|(j, _)| matches(j)) {
            return match self.answered[at].1 {
                Outcome::Unavailable(_) => Err(TrustError::NoCrypto),
                _ => Ok(at),
            };
        }
        if !self.asked.iter().any(&matches) {
            self.asked.push(job()?);
        }
        Err(TrustError::Later)
    }

    /// The answer to `job`, once it came (see [`Self::ask`]).
    fn ask_for(&mut self, job: Job) -> Result<Outcome, TrustError> {
        let wanted = job.clone();
        let at = self.ask(|j| *j == wanted, || Ok(job))?;
        Ok(self.answered[at].1.clone())
    }
}

fn bytes<const N: usize>(outcome: Outcome) -> Result<[u8; N], TrustError> {
    match outcome {
        Outcome::Done(bytes) => bytes.try_into().map_err(|_| TrustError::NoCrypto),
        _ => Err(TrustError::NoCrypto),
    }
}

impl Primitives for Deferred {
    fn seal(
        &mut self,
        key: &[u8; 32],
        aad: &[u8],
        plaintext: &[u8],
        rng: &mut dyn Entropy,
    ) -> Result<([u8; NONCE_LEN], Vec<u8>), TrustError> {
        let same = |j: &Job| {
            matches!(j, Job::Seal { key: k, aad: a, plaintext: p, .. }
                if k == key && a == aad && p == plaintext)
        };
        let at = self.ask(same, || {
            Ok(Job::Seal {
                key: *key,
                nonce: random::bytes(rng)?,
                aad: aad.to_vec(),
                plaintext: plaintext.to_vec(),
            })
        })?;
        match &self.answered[at] {
            (Job::Seal { nonce, .. }, Outcome::Done(sealed)) => Ok((*nonce, sealed.clone())),
            _ => Err(TrustError::NoCrypto),
        }
    }

    fn open(
        &mut self,
        key: &[u8; 32],
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        sealed: &[u8],
    ) -> Result<Option<Vec<u8>>, TrustError> {
        match self.ask_for(Job::Open {
            key: *key,
            nonce: *nonce,
            aad: aad.to_vec(),
            sealed: sealed.to_vec(),
        })? {
            Outcome::Done(plaintext) => Ok(Some(plaintext)),
            _ => Ok(None),
        }
    }

    fn signing_public(&mut self, seed: &[u8; 32]) -> Result<[u8; 32], TrustError> {
        bytes(self.ask_for(Job::SigningPublic { seed: *seed })?)
    }

    fn sign(&mut self, seed: &[u8; 32], message: &[u8]) -> Result<[u8; SIGNATURE_LEN], TrustError> {
        bytes(self.ask_for(Job::Sign {
            seed: *seed,
            message: message.to_vec(),
        })?)
    }

    fn verify(
        &mut self,
        public: &[u8; 32],
        message: &[u8],
        signature: &[u8; SIGNATURE_LEN],
    ) -> Result<bool, TrustError> {
        let outcome = self.ask_for(Job::Verify {
            public: *public,
            message: message.to_vec(),
            signature: signature.to_vec(),
        })?;
        Ok(outcome == Outcome::Done(Vec::new()))
    }

    fn agreement_public(&mut self, secret: &[u8; 32]) -> Result<[u8; 32], TrustError> {
        bytes(self.ask_for(Job::AgreementPublic { secret: *secret })?)
    }

    fn agree(
        &mut self,
        secret: &[u8; 32],
        public: &[u8; 32],
    ) -> Result<Option<[u8; 32]>, TrustError> {
        match self.ask_for(Job::Agree {
            secret: *secret,
            public: *public,
        })? {
            Outcome::Refused => Ok(None),
            outcome => bytes(outcome).map(Some),
        }
    }
}

/// Carries `job` out with `crypto` (at once: the native tests' stand-in for
/// the browser's WebCrypto).
pub fn carry_out(job: &Job, crypto: &mut dyn Primitives) -> Outcome {
    let answer = match job {
        Job::Seal {
            key,
            nonce,
            aad,
            plaintext,
        } => {
            let mut nonce_source = GivenBytes(nonce.to_vec());
            crypto
                .seal(key, aad, plaintext, &mut nonce_source)
                .map(|(_, sealed)| Some(sealed))
        }
        Job::Open {
            key,
            nonce,
            aad,
            sealed,
        } => crypto.open(key, nonce, aad, sealed),
        Job::SigningPublic { seed } => crypto.signing_public(seed).map(|p| Some(p.to_vec())),
        Job::Sign { seed, message } => crypto.sign(seed, message).map(|s| Some(s.to_vec())),
        Job::Verify {
            public,
            message,
            signature,
        } => match signature.as_slice().try_into() {
            Ok(signature) => crypto
                .verify(public, message, signature)
                .map(|ok| ok.then(Vec::new)),
            Err(_) => Ok(None),
        },
        Job::AgreementPublic { secret } => {
            crypto.agreement_public(secret).map(|p| Some(p.to_vec()))
        }
        Job::Agree { secret, public } => {
            crypto.agree(secret, public).map(|s| s.map(|s| s.to_vec()))
        }
    };
    match answer {
        Ok(Some(bytes)) => Outcome::Done(bytes),
        Ok(None) => Outcome::Refused,
        Err(error) => Outcome::Unavailable(error.to_string()),
    }
}

/// Runs `composition` over `deferred` until it is done
/// ([`Deferred::run`]), carrying each job out with `crypto` in between.
/// The native form of what the browser does with WebCrypto.
pub fn complete<T>(
    deferred: &mut Deferred,
    crypto: &mut dyn Primitives,
    mut composition: impl FnMut(&mut Deferred) -> Result<T, TrustError>,
) -> Result<T, TrustError> {
    loop {
        match deferred.run(&mut composition) {
            Step::Done(result) => return result,
            Step::Carry(jobs) => {
                for job in jobs {
                    let outcome = carry_out(&job, crypto);
                    deferred.answer(job, outcome);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::trust::random::SeededEntropy;
    use crate::core::trust::RustCrypto;

    #[test]
    fn a_seal_asks_once_and_its_answer_is_found_with_the_nonce_drawn_then() {
        let mut deferred = Deferred::new();
        let mut rng = SeededEntropy::new(1);
        let key = [7; 32];
        assert_eq!(
            deferred.seal(&key, b"aad", b"text", &mut rng),
            Err(TrustError::Later)
        );
        // Asked again before it is carried out: no second job, no draw.
        assert_eq!(
            deferred.seal(&key, b"aad", b"text", &mut rng),
            Err(TrustError::Later)
        );
        let jobs = deferred.take_jobs();
        assert_eq!(jobs.len(), 1);
        let Job::Seal { nonce, .. } = jobs[0].clone() else {
            panic!("{jobs:?}")
        };
        let outcome = carry_out(&jobs[0], &mut RustCrypto);
        deferred.answer(jobs[0].clone(), outcome);
        let (got_nonce, sealed) = deferred
            .seal(&key, b"aad", b"text", &mut SeededEntropy::new(99))
            .unwrap();
        assert_eq!(got_nonce, nonce);
        assert_eq!(
            RustCrypto.open(&key, &nonce, b"aad", &sealed),
            Ok(Some(b"text".to_vec()))
        );
    }

    #[test]
    fn a_composition_that_never_finishes_is_stopped_and_its_answers_forgotten() {
        // Draws a new seed on every run, against the port's rule: each run
        // asks for another public half.
        let mut rng = SeededEntropy::new(3);
        let mut runs = 0;
        let mut port = Deferred::new();
        let endless = complete(&mut port, &mut RustCrypto, |port| {
            runs += 1;
            let seed: [u8; 32] = random::bytes(&mut rng)?;
            port.signing_public(&seed)?;
            Err::<(), _>(TrustError::Later)
        });
        assert_eq!(endless, Err(TrustError::NoCrypto));
        assert_eq!(runs, MAX_ROUNDS);
        // One that answers Later having asked for nothing is stopped at
        // once; the next composition starts afresh.
        let mut runs = 0;
        let idle = complete(&mut port, &mut RustCrypto, |_| {
            runs += 1;
            Err::<(), _>(TrustError::Later)
        });
        assert_eq!((idle, runs), (Err(TrustError::NoCrypto), 1));
        let signed = complete(&mut port, &mut RustCrypto, |port| port.sign(&[5; 32], b"m"));
        assert_eq!(signed, RustCrypto.sign(&[5; 32], b"m"));
        assert_eq!(port.rounds, 0);
        assert!(port.answered.is_empty());
    }

    #[test]
    fn refusals_and_a_platform_that_cannot_come_back_as_such() {
        let mut deferred = Deferred::new();
        let job = Job::Agree {
            secret: [1; 32],
            public: [0; 32],
        };
        assert_eq!(deferred.agree(&[1; 32], &[0; 32]), Err(TrustError::Later));
        deferred.take_jobs();
        deferred.answer(job, Outcome::Refused);
        assert_eq!(deferred.agree(&[1; 32], &[0; 32]), Ok(None));
        let sign = Job::Sign {
            seed: [2; 32],
            message: b"m".to_vec(),
        };
        deferred.answer(sign, Outcome::Unavailable("no WebCrypto".to_owned()));
        assert_eq!(deferred.sign(&[2; 32], b"m"), Err(TrustError::NoCrypto));
        deferred.clear();
        assert_eq!(deferred.agree(&[1; 32], &[0; 32]), Err(TrustError::Later));
    }
}
