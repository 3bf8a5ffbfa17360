// Package crashtest runs a test function of the current test binary as a
// child process and kills it with SIGKILL, for crash tests that need a real
// process to die mid-write (the page cache survives it, the process's
// memory and unflushed buffers do not).
//
// # Basics
//
// The parent test starts the child with [Start], naming a child test
// function of the same package, a directory and a seed. The child is
// the test binary again, run with -test.run=^Name$; its test function
// calls [AsChild] first, which skips it when it runs as an ordinary test
// and otherwise returns the directory and seed. The child reports
// progress with [Child.Reportf], one line per write(2) on a pipe (file
// descriptor 3, since testing owns stdout), only after what it reports
// has happened; the parent receives each line through [Config.Report].
// When the child has no more work it calls [Child.WaitForKill].
//
// The parent kills the child with [Process.KillAfter] (a random delay
// after a report) or [Process.Kill], which fail unless the child died of
// that SIGKILL (a child that ended by itself failed or finished too
// early) and unless its output is free of the race detector's
// "DATA RACE"; their errors carry the child's output.
//
// [SeedFlag] gives such tests a seed from a flag or the clock, logged
// with the command that replays it.
//
// # Caveats
//
// Only test code may import this package: it imports testing and defines
// flags. The child keeps its stdin open on a pipe from the parent and
// exits when it closes, so a child does not outlive a parent that dies
// before killing it. Killing needs a Unix system; elsewhere [Start]
// fails.
package crashtest
