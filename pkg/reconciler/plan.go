package reconciler

import (
	"slices"
	"sort"

	"github.com/wp-dind/wp-dind/pkg/docker"
	"github.com/wp-dind/wp-dind/pkg/instance"
)

// Desired is what should run: the instances' containers and the networks they need.
type Desired struct {
	Instances []DesiredInstance
	Networks  []docker.NetworkSpec // pool, instance and shared networks
}

// DesiredInstance is one declared instance's containers, in start order.
type DesiredInstance struct {
	Name       string
	Containers []instance.ContainerSpec
	Asleep     bool // its PHP and database stay stopped: no Start for them (sleep.go)
}

// Actual is one listing of the owned objects.
type Actual struct {
	Containers []docker.Container
	Networks   []docker.Network
}

// Kind is what an action does to one container.
type Kind string

const (
	Create   Kind = "create"   // no container for the role: create and start it
	Recreate Kind = "recreate" // definition changed or container unusable: remove, create, start
	Start    Kind = "start"    // definition unchanged, container stopped: start it
	Remove   Kind = "remove"   // container not wanted: stop and remove it
)

// Action is one step on one container.
type Action struct {
	Kind        Kind
	Instance    string
	Role        instance.Role
	ContainerID string // the existing container, for Recreate, Start and Remove
	Reason      string
}

// Steps is the work one pass found.
type Steps struct {
	CreateNetworks []docker.NetworkSpec
	Converge       map[string][]Action // declared instance -> its actions (empty: in shape)
	Gone           map[string][]Action // undeclared instance -> removal of its containers
	RemoveNetworks []docker.Network    // owned networks no longer wanted
	// Wait holds back a declared instance until the removal of the gone instances named
	// there: their containers are still on its network (a rename keeping the id: the old
	// database holds the address the new one asks for) or publish its host port.
	Wait map[string][]string
}

// Empty reports whether the plan changes nothing.
func (p *Steps) Empty() bool {
	if len(p.CreateNetworks)+len(p.Gone)+len(p.RemoveNetworks) > 0 {
		return false
	}
	for _, acts := range p.Converge {
		if len(acts) > 0 {
			return false
		}
	}
	return true
}

// Counts tallies the plan's actions by kind, networks as network-create and network-remove.
func (p *Steps) Counts() map[string]int {
	c := map[string]int{}
	for _, acts := range []map[string][]Action{p.Converge, p.Gone} {
		for _, list := range acts {
			for _, a := range list {
				c[string(a.Kind)]++
			}
		}
	}
	if n := len(p.CreateNetworks); n > 0 {
		c["network-create"] = n
	}
	if n := len(p.RemoveNetworks); n > 0 {
		c["network-remove"] = n
	}
	return c
}

// Plan compares desired with actual. It is pure: no I/O, deterministic output.
func Plan(d Desired, a Actual) Steps {
	p := Steps{Converge: map[string][]Action{}, Gone: map[string][]Action{}}
	byInstance := map[string][]docker.Container{}
	for _, c := range a.Containers {
		byInstance[c.Labels[docker.LabelInstance]] = append(byInstance[c.Labels[docker.LabelInstance]], c)
	}
	declared := map[string]bool{}
	for _, di := range d.Instances {
		declared[di.Name] = true
		p.Converge[di.Name] = planInstance(di, byInstance[di.Name])
	}
	names := make([]string, 0, len(byInstance))
	for n := range byInstance {
		if !declared[n] {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		for _, c := range byInstance[n] {
			p.Gone[n] = append(p.Gone[n], Action{Kind: Remove, Instance: n, Role: instance.Role(c.Labels[docker.LabelRole]), ContainerID: c.ID, Reason: "instance removed from the file"})
		}
	}
	p.Wait = planWaits(d.Instances, names, byInstance)
	p.CreateNetworks, p.RemoveNetworks = planNetworks(d.Networks, a.Networks)
	return p
}

// planWaits finds, for each declared instance, the gone instances (in gone's order) holding
// its network or its host port. Only removals are waited for: they always proceed, so no
// two instances ever wait for each other.
func planWaits(declared []DesiredInstance, gone []string, byInstance map[string][]docker.Container) map[string][]string {
	waits := map[string][]string{}
	for _, di := range declared {
		nets, ports := map[string]bool{}, map[int]bool{}
		for _, spec := range di.Containers {
			nets[spec.Network] = spec.Network != ""
			ports[spec.HostPort] = spec.HostPort != 0
		}
		for _, n := range gone {
			if slices.ContainsFunc(byInstance[n], func(c docker.Container) bool {
				return slices.ContainsFunc(c.Networks, func(s string) bool { return nets[s] }) ||
					slices.ContainsFunc(c.HostPorts, func(p int) bool { return ports[p] })
			}) {
				waits[di.Name] = append(waits[di.Name], n)
			}
		}
	}
	return waits
}

// planInstance finds, role by role, the container to keep and what to do with it.
func planInstance(di DesiredInstance, have []docker.Container) []Action {
	var acts []Action
	wanted := map[instance.Role]bool{}
	for _, spec := range di.Containers {
		wanted[spec.Role] = true
		var match []docker.Container
		for _, c := range have {
			if instance.Role(c.Labels[docker.LabelRole]) == spec.Role {
				match = append(match, c)
			}
		}
		keep, extra := pickContainer(match, spec.Hash)
		for _, c := range extra {
			acts = append(acts, Action{Kind: Remove, Instance: di.Name, Role: spec.Role, ContainerID: c.ID, Reason: "duplicate container"})
		}
		if a, ok := roleAction(di.Name, spec, keep); ok && !(di.Asleep && a.Kind == Start && spec.Role != instance.RoleWeb) {
			acts = append(acts, a)
		}
	}
	for _, c := range have {
		if r := instance.Role(c.Labels[docker.LabelRole]); !wanted[r] {
			acts = append(acts, Action{Kind: Remove, Instance: di.Name, Role: r, ContainerID: c.ID, Reason: "unknown role"})
		}
	}
	return acts
}

// pickContainer keeps the best candidate: the current definition first, then a running one.
func pickContainer(match []docker.Container, hash string) (*docker.Container, []docker.Container) {
	if len(match) == 0 {
		return nil, nil
	}
	best := 0
	score := func(c docker.Container) int {
		s := 0
		if c.Labels[docker.LabelHash] == hash {
			s += 2
		}
		if c.Running() {
			s++
		}
		return s
	}
	for i := range match {
		if score(match[i]) > score(match[best]) {
			best = i
		}
	}
	extra := append(append([]docker.Container{}, match[:best]...), match[best+1:]...)
	return &match[best], extra
}

func roleAction(name string, spec instance.ContainerSpec, c *docker.Container) (Action, bool) {
	a := Action{Instance: name, Role: spec.Role}
	switch {
	case c == nil:
		a.Kind, a.Reason = Create, "missing"
	case c.Labels[docker.LabelHash] != spec.Hash:
		a.Kind, a.ContainerID, a.Reason = Recreate, c.ID, "definition changed"
	case c.State == "dead" || c.State == "removing":
		a.Kind, a.ContainerID, a.Reason = Recreate, c.ID, "container "+c.State
	case c.State == "created" || c.State == "exited":
		a.Kind, a.ContainerID, a.Reason = Start, c.ID, "container "+c.State
	default:
		return a, false
	}
	return a, true
}

// planNetworks creates wanted networks that are missing and removes owned ones not wanted.
func planNetworks(want []docker.NetworkSpec, have []docker.Network) ([]docker.NetworkSpec, []docker.Network) {
	haveByName := map[string]bool{}
	for _, n := range have {
		haveByName[n.Name] = true
	}
	wantByName := map[string]bool{}
	var create []docker.NetworkSpec
	for _, w := range want {
		if wantByName[w.Name] {
			continue
		}
		wantByName[w.Name] = true
		if !haveByName[w.Name] {
			create = append(create, w)
		}
	}
	var remove []docker.Network
	for _, n := range have {
		if !wantByName[n.Name] {
			remove = append(remove, n)
		}
	}
	sort.Slice(create, func(i, j int) bool { return create[i].Name < create[j].Name })
	sort.Slice(remove, func(i, j int) bool { return remove[i].Name < remove[j].Name })
	return create, remove
}
