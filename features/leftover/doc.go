// Package leftover finds and removes the temporary files and directories
// that a killed command left beside its output: `.NAME.*.partial` of a
// backup or export, `.NAME.restoring-*` of a restore. A SIGINT or SIGTERM
// already removes its own; only a kill -9 or a lost machine leaves them,
// and a backup's partial file can be as large as the store.
//
// A command that makes such a temporary Claims it: an exclusive advisory
// lock (flock) held until the temporary is renamed into place or removed.
// The kernel drops the lock when its process dies, however it dies, so a
// temporary that can be locked has no owner left, and the next command
// writing the same output Sweeps it. A restore's directory is a Badger
// store while it loads, and Badger holds the same kind of lock on its
// directory, so a restore claims nothing itself. Where flock does not
// exist (Windows) Claim and Sweep do nothing, and leftovers are deleted by
// hand as before.
// On NFS, Linux emulates flock with POSIX locks, which any close by the
// owner drops: there only the one-minute age check protects a backup's
// file between its close and its rename.
package leftover
