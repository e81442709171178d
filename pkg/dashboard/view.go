package dashboard

import (
	"fmt"
	"path/filepath"
	"sort"
	"time"

	"github.com/wp-dind/wp-dind/pkg/ctl"
	"github.com/wp-dind/wp-dind/pkg/resources"
)

// View is what the page shows, built from one status, the instances' details, the backups
// and the last resource sample. It holds no secret.
type View struct {
	Version     string
	Started     time.Time
	Links       Links
	ConfigError string // wpinit.toml's last reload
	FileError   string // instances.toml's last load
	FileLines   []ctl.FileError
	Docker      *ctl.DockerStatus
	Services    []ctl.ServiceStatus
	Images      *ImagesView
	Instances   []InstanceView
	Ready       bool // the reconciler's first pass is done
	Backups     int  // archives in the backups folder
	BackupBytes int64
}

// ImagesView is the loader's pass, with only the tarballs worth a line.
type ImagesView struct {
	Done                             bool
	Loaded, Skipped, Failed, Pending int
	Busy                             []ctl.TarballStatus // checking or loading
	Errors                           []ctl.TarballStatus
}

// InstanceView is one instance's row.
type InstanceView struct {
	ctl.InstanceStatus
	Links      InstanceLinks
	XdebugMode string
	Containers []ContainerView
	CPUPercent float64
	Memory     uint64
	DataBytes  int64
	HasDisk    bool
	Backups    []BackupView // newest first, at most maxBackups
	BackupN    int
}

// ContainerView is one container of an instance, with its last sample.
type ContainerView struct {
	Role, Name, State, Health string
	Sampled                   bool
	CPUPercent                float64
	Memory                    uint64
}

// BackupView is one archive.
type BackupView struct {
	File  string
	When  time.Time
	Bytes int64
}

const maxBackups = 3

// buildView assembles the view. details and backups may miss instances (not managed yet).
func buildView(st *ctl.Status, details map[string]ctl.InstanceDetail, backups []ctl.BackupArchive, s resources.Sample, links Links) View {
	v := View{Links: links, Services: st.Services, Docker: st.Docker}
	if w := st.Wpinit; w != nil {
		v.Version, v.Started, v.ConfigError = w.Version, w.Started, w.ConfigError
	}
	if im := st.Images; im != nil {
		v.Images = imagesView(im)
	}
	if in := st.Instances; in != nil {
		v.FileError, v.FileLines, v.Ready = in.FileError, in.FileLines, in.Ready
		usage := map[string]resources.ContainerUsage{}
		for _, u := range s.Containers {
			usage[u.ID] = u
		}
		byInstance := groupBackups(backups)
		for _, i := range in.Instances {
			v.Instances = append(v.Instances, instanceView(i, details[i.Name], usage, byInstance[i.Name], s.Disk, links))
		}
	}
	for _, a := range backups { // the list, not the disk walk: it is current after each backup
		v.Backups++
		v.BackupBytes += a.Bytes
	}
	return v
}

func imagesView(im *ctl.ImagesStatus) *ImagesView {
	c := im.Counts()
	v := &ImagesView{Done: im.Done, Loaded: c[ctl.TarballLoaded], Skipped: c[ctl.TarballSkipped],
		Failed: c[ctl.TarballFailed], Pending: c[ctl.TarballPending]}
	for _, t := range im.Tarballs {
		switch t.State {
		case ctl.TarballChecking, ctl.TarballLoading:
			v.Busy = append(v.Busy, t)
		case ctl.TarballFailed:
			v.Errors = append(v.Errors, t)
		}
	}
	return v
}

func instanceView(i ctl.InstanceStatus, d ctl.InstanceDetail, usage map[string]resources.ContainerUsage,
	backups []BackupView, disk resources.DiskUsage, links Links) InstanceView {
	v := InstanceView{InstanceStatus: i, Links: links.For(i), XdebugMode: d.XdebugMode, BackupN: len(backups)}
	for _, c := range d.Containers {
		cv := ContainerView{Role: c.Role, Name: c.Name, State: c.State, Health: c.Health}
		if u, ok := usage[c.ID]; ok {
			cv.Sampled, cv.CPUPercent, cv.Memory = true, u.CPUPercent, u.MemoryBytes
			v.CPUPercent += u.CPUPercent
			v.Memory += u.MemoryBytes
		}
		v.Containers = append(v.Containers, cv)
	}
	v.DataBytes, v.HasDisk = disk.Bytes[i.Name]
	if len(backups) > maxBackups {
		backups = backups[:maxBackups]
	}
	v.Backups = backups
	return v
}

// groupBackups: per instance, newest first.
func groupBackups(list []ctl.BackupArchive) map[string][]BackupView {
	out := map[string][]BackupView{}
	for _, a := range list {
		out[a.Instance] = append(out[a.Instance], BackupView{File: filepath.Base(a.Path), When: a.When, Bytes: a.Bytes})
	}
	for _, l := range out {
		sort.Slice(l, func(i, j int) bool { return l[i].When.After(l[j].When) })
	}
	return out
}

// bytesText is a size as people read it: 1.2 GiB, 340 MiB, 12 KiB.
func bytesText(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	f := float64(n) / float64(div)
	if f < 10 {
		return fmt.Sprintf("%.1f %ciB", f, "KMGTP"[exp])
	}
	return fmt.Sprintf("%.0f %ciB", f, "KMGTP"[exp])
}
