//! Where a frame's changed state files go while its deltas are applied: into the object store, each file
//! as soon as no later delta touches it.
//!
//! A frame that changes many files writes them as one pack, and it does so on a second thread: hashing
//! and compressing a file's new bytes needs nothing from the deltas still to come. The applying thread
//! hands each released file's bytes over a short queue (so at most a few wait in memory), and the pack
//! becomes readable only when every delta was applied: a frame that fails leaves no pack behind. A few
//! files are stored inline, as loose objects.

use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use crate::error::Error;
use crate::git::Repo;
use crate::git::pack::{self, Batch, PackWriter};

/// Changed state files: repository path and the blob of its new bytes, already in the object store
/// (`None`: deleted). The bytes themselves are not held: a frame of a thousand files holds a few at a time.
pub(crate) type Changes = Vec<(String, Option<gix::ObjectId>)>;

/// Files waiting for the storing thread, at most.
const QUEUE: usize = 16;

enum Msg {
    File(String, Vec<u8>),
    /// Every delta was applied: make the pack readable.
    Finish,
}

/// Takes the released files of a frame being applied ([`storing`]).
pub(crate) struct Sink<'a>(Place<'a>);

enum Place<'a> {
    Inline { batch: Batch<'a>, stored: Changes },
    Worker { tx: SyncSender<Msg> },
}

impl Sink<'_> {
    /// Store `bytes`, the new content of the file at repository path `path`.
    pub(crate) fn put(&mut self, path: String, bytes: Vec<u8>) -> Result<(), Error> {
        match &mut self.0 {
            Place::Inline { batch, stored } => {
                stored.push((path, Some(batch.store(&bytes)?)));
                crate::failpoint::hit("merge-frame.blob-stored");
                Ok(())
            }
            // The storing thread only hangs up after an error, which `storing` reports in place of this one.
            Place::Worker { tx } => tx
                .send(Msg::File(path, bytes))
                .map_err(|_| Error::new("internal error: the frame's blobs stopped being stored")),
        }
    }
}

/// Run `apply`, which hands every changed file of the frame to the sink, about `expected` of them.
/// Returns what `apply` returned, the stored files (in the order stored), and the frame's pack when it
/// wrote one, finished (readable) only when `apply` succeeded.
pub(crate) fn storing<T>(
    repo: &Repo,
    expected: usize,
    apply: impl FnOnce(&mut Sink<'_>) -> Result<T, Error>,
) -> Result<(T, Changes, Option<pack::Written>), Error> {
    let writer = match Batch::new(repo, expected)? {
        Batch::Pack(writer) => writer,
        batch => {
            let mut sink = Sink(Place::Inline { batch, stored: Vec::new() });
            let out = apply(&mut sink)?;
            let Sink(Place::Inline { batch, stored }) = sink else {
                return Err(Error::new("internal error: the frame's store changed kind"));
            };
            return Ok((out, stored, batch.finish()?));
        }
    };
    std::thread::scope(|scope| {
        let (tx, rx) = sync_channel(QUEUE);
        // A thread that cannot be started (a process or memory limit) fails the frame before anything is
        // written: the writer is dropped with its temporary file.
        let worker = std::thread::Builder::new()
            .name("frame-pack".into())
            .spawn_scoped(scope, move || pack_files(writer, rx))
            .map_err(|e| {
                Error::new(format!("cannot start a thread to store the frame's blobs: {e}"))
                    .hint("nothing was committed; run merge-frame again when the system has threads to spare")
            })?;
        let mut sink = Sink(Place::Worker { tx });
        let out = apply(&mut sink);
        if let (Ok(_), Sink(Place::Worker { tx })) = (&out, &sink) {
            // A send fails only when the thread stopped on an error, reported below.
            let _ = tx.send(Msg::Finish);
        }
        drop(sink);
        let stored =
            worker.join().map_err(|_| Error::new("internal error: the thread storing the frame's blobs panicked"))?;
        let stored = stored?;
        let out = out?;
        match stored {
            Some((stored, packed)) => Ok((out, stored, packed)),
            None => Err(Error::new("internal error: the frame's pack was not finished")),
        }
    })
}

/// The storing thread: each changed file into the pack, in the order they come. `None` when the applying
/// side hung up without finishing (it failed): the pack's temporary file is removed (dropped).
fn pack_files(
    mut writer: Box<PackWriter>,
    rx: Receiver<Msg>,
) -> Result<Option<(Changes, Option<pack::Written>)>, Error> {
    let mut stored = Vec::new();
    for msg in rx {
        match msg {
            Msg::File(path, bytes) => {
                stored.push((path, Some(writer.add_blob(&bytes)?)));
                crate::failpoint::hit("merge-frame.blob-stored");
            }
            Msg::Finish => return Ok(Some((stored, writer.finish()?))),
        }
    }
    Ok(None)
}
