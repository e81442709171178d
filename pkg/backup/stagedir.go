package backup

import (
	"context"
	"fmt"
	"os"

	units "github.com/docker/go-units"
)

// StageDir makes an empty staging folder under stageRoot for a restore that copies its
// content from elsewhere (a snapshot): need bytes, counted against the same budget as Stage's
// (what leaves KeepFree of the file system free), one staging at a time. Sweep removes it
// when a crash leaves it; Cleanup when the restore ends.
func StageDir(ctx context.Context, stageRoot, name string, need int64) (*Staged, error) {
	select {
	case stagingSlot <- struct{}{}:
		defer func() { <-stagingSlot }()
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	total, why, err := budget(stageRoot, Limits{})
	if err != nil {
		return nil, err
	}
	if need > total {
		return nil, fmt.Errorf("stage %s for %q: %w: %s", units.BytesSize(float64(need)), name, ErrTooLarge, why)
	}
	dir, err := use(func() (string, string, error) {
		d, err := os.MkdirTemp(stageRoot, stagePrefix+name+"-")
		return d, d, err
	})
	if err != nil {
		return nil, fmt.Errorf("create staging folder: %w", err)
	}
	return &Staged{Dir: dir}, nil
}
