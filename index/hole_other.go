//go:build !linux

package index

import "github.com/samsalog/samsa/internal/fs"

func dataEnd(fs.File, int64) (int64, bool) { return 0, false }

func adviseRandom(fs.File) {}
