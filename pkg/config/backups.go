package config

import "time"

// Backups is [backups]: backups taken on a schedule, one instance at a time. Read at boot only.
type Backups struct {
	// Schedule is the interval between two scheduled backups of an instance; 0 (the default)
	// takes none.
	Schedule Duration `toml:"schedule" json:"schedule"`
	// Keep is how many scheduled archives of each instance stay: after each scheduled backup
	// the older ones go (archives of `ctl backup` are never pruned). 0 keeps them all.
	Keep int `toml:"keep" json:"keep"`
}

// minSchedule keeps a schedule from being a busy loop.
const minSchedule = time.Second

func (b *Backups) validate(p *problems) {
	if s := b.Schedule.D(); s != 0 && s < minSchedule {
		p.add("backups.schedule", "%s is too short: at least %s, or 0 for no scheduled backups", s, minSchedule)
	}
	if b.Keep < 0 {
		p.add("backups.keep", "must be 0 (keep every scheduled archive) or more")
	}
}
