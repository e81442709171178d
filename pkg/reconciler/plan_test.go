package reconciler

import (
	"fmt"
	"reflect"
	"slices"
	"testing"

	"github.com/wp-dind/wp-dind/pkg/docker"
	"github.com/wp-dind/wp-dind/pkg/instance"
)

// desired builds a declared instance whose containers have hashes "<name>-<role>-<gen>".
func desired(name string, gen map[instance.Role]int) DesiredInstance {
	di := DesiredInstance{Name: name}
	for _, r := range instance.Roles {
		di.Containers = append(di.Containers, instance.ContainerSpec{Role: r, Hash: fmt.Sprintf("%s-%s-%d", name, r, gen[r])})
	}
	return di
}

// ctr is a container-list fixture entry.
func ctr(name string, r instance.Role, gen int, state string) docker.Container {
	return docker.Container{
		ID: fmt.Sprintf("%s-%s-id%d", name, r, gen), Name: instance.ContainerName(name, r), State: state,
		Labels: map[string]string{
			docker.LabelInstance: name, docker.LabelRole: string(r),
			docker.LabelHash: fmt.Sprintf("%s-%s-%d", name, r, gen),
		},
	}
}

func running(name string) []docker.Container {
	return []docker.Container{ctr(name, "db", 0, "running"), ctr(name, "php", 0, "running"), ctr(name, "web", 0, "running")}
}

func netSpec(id int) docker.NetworkSpec {
	return docker.NetworkSpec{Name: fmt.Sprintf("wp-network-%d", id), Subnet: fmt.Sprintf("172.20.%d.0/24", id)}
}

func TestPlan(t *testing.T) {
	zero := map[instance.Role]int{}
	tests := []struct {
		name     string
		desired  Desired
		actual   Actual
		converge map[string][]Action
		gone     map[string][]Action
		netsAdd  []string
		netsDel  []string
	}{
		{
			name:     "no-op",
			desired:  Desired{Instances: []DesiredInstance{desired("a", zero)}, Networks: []docker.NetworkSpec{netSpec(1)}},
			actual:   Actual{Containers: running("a"), Networks: []docker.Network{{Name: "wp-network-1"}}},
			converge: map[string][]Action{"a": nil},
		},
		{
			name:    "new instance",
			desired: Desired{Instances: []DesiredInstance{desired("a", zero)}, Networks: []docker.NetworkSpec{netSpec(1), netSpec(1)}},
			converge: map[string][]Action{"a": {
				{Kind: Create, Instance: "a", Role: "db", Reason: "missing"},
				{Kind: Create, Instance: "a", Role: "php", Reason: "missing"},
				{Kind: Create, Instance: "a", Role: "web", Reason: "missing"},
			}},
			netsAdd: []string{"wp-network-1"},
		},
		{
			name:    "php changed: only php recreated",
			desired: Desired{Instances: []DesiredInstance{desired("a", map[instance.Role]int{"php": 1})}},
			actual:  Actual{Containers: running("a")},
			converge: map[string][]Action{"a": {
				{Kind: Recreate, Instance: "a", Role: "php", ContainerID: "a-php-id0", Reason: "definition changed"},
			}},
		},
		{
			name: "asleep: PHP and database stay stopped, a stopped web server starts",
			desired: Desired{Instances: []DesiredInstance{func() DesiredInstance {
				di := desired("a", zero)
				di.Asleep = true
				return di
			}()}},
			actual: Actual{Containers: []docker.Container{ctr("a", "db", 0, "exited"), ctr("a", "php", 0, "exited"), ctr("a", "web", 0, "exited")}},
			converge: map[string][]Action{"a": {
				{Kind: Start, Instance: "a", Role: "web", ContainerID: "a-web-id0", Reason: "container exited"},
			}},
		},
		{
			name:    "stopped and removed behind our back",
			desired: Desired{Instances: []DesiredInstance{desired("a", zero)}},
			actual:  Actual{Containers: []docker.Container{ctr("a", "db", 0, "exited"), ctr("a", "web", 0, "dead")}},
			converge: map[string][]Action{"a": {
				{Kind: Start, Instance: "a", Role: "db", ContainerID: "a-db-id0", Reason: "container exited"},
				{Kind: Create, Instance: "a", Role: "php", Reason: "missing"},
				{Kind: Recreate, Instance: "a", Role: "web", ContainerID: "a-web-id0", Reason: "container dead"},
			}},
		},
		{
			name:    "duplicate keeps the current one",
			desired: Desired{Instances: []DesiredInstance{desired("a", map[instance.Role]int{"db": 1})}},
			actual:  Actual{Containers: append(running("a"), ctr("a", "db", 1, "running"))},
			converge: map[string][]Action{"a": {
				{Kind: Remove, Instance: "a", Role: "db", ContainerID: "a-db-id0", Reason: "duplicate container"},
			}},
		},
		{
			name:     "instance gone, its network too, pool kept",
			desired:  Desired{Instances: []DesiredInstance{desired("a", zero)}, Networks: []docker.NetworkSpec{netSpec(1), netSpec(2)}},
			actual:   Actual{Containers: append(running("a"), ctr("b", "db", 0, "running")), Networks: []docker.Network{{Name: "wp-network-1"}, {Name: "wp-network-2"}, {Name: "wp-network-9"}}},
			converge: map[string][]Action{"a": nil},
			gone:     map[string][]Action{"b": {{Kind: Remove, Instance: "b", Role: "db", ContainerID: "b-db-id0", Reason: "instance removed from the file"}}},
			netsDel:  []string{"wp-network-9"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Plan(tt.desired, tt.actual)
			if tt.gone == nil {
				tt.gone = map[string][]Action{}
			}
			if !reflect.DeepEqual(p.Converge, tt.converge) {
				t.Errorf("converge:\n got %+v\nwant %+v", p.Converge, tt.converge)
			}
			if !reflect.DeepEqual(p.Gone, tt.gone) {
				t.Errorf("gone:\n got %+v\nwant %+v", p.Gone, tt.gone)
			}
			var add, del []string
			for _, n := range p.CreateNetworks {
				add = append(add, n.Name)
			}
			for _, n := range p.RemoveNetworks {
				del = append(del, n.Name)
			}
			if !reflect.DeepEqual(add, tt.netsAdd) || !reflect.DeepEqual(del, tt.netsDel) {
				t.Errorf("networks: add %v del %v, want add %v del %v", add, del, tt.netsAdd, tt.netsDel)
			}
			if p.Empty() != (tt.name == "no-op") {
				t.Errorf("Empty() = %v", p.Empty())
			}
		})
	}
}

// onNet declares an instance whose containers are on network net, the web one publishing port.
func onNet(name, net string, port int) DesiredInstance {
	di := desired(name, map[instance.Role]int{})
	for i := range di.Containers {
		di.Containers[i].Network = net
		if di.Containers[i].Role == instance.RoleWeb {
			di.Containers[i].HostPort = port
		}
	}
	return di
}

// listed is a container-list entry on net (and the shared network), publishing ports.
func listed(name string, r instance.Role, state, net string, ports ...int) docker.Container {
	c := ctr(name, r, 0, state)
	c.Networks, c.HostPorts = []string{net, "wp-shared"}, ports
	return c
}

// TestPlanWaits: a declared instance waits for the removal of every gone instance whose
// containers are still on its network or publish its port, and only for those.
func TestPlanWaits(t *testing.T) {
	gone := []docker.Container{
		listed("old", "db", "running", "wp-network-3"), listed("old", "web", "running", "wp-network-3", 8003),
	}
	tests := []struct {
		name     string
		declared []DesiredInstance
		actual   []docker.Container
		want     map[string][]string
	}{
		{
			name:     "rename keeping id and port",
			declared: []DesiredInstance{onNet("new", "wp-network-3", 8003)},
			actual:   gone,
			want:     map[string][]string{"new": {"old"}},
		},
		{
			name:     "same id, another port",
			declared: []DesiredInstance{onNet("new", "wp-network-3", 8009)},
			actual:   gone,
			want:     map[string][]string{"new": {"old"}},
		},
		{
			name:     "same port, another id",
			declared: []DesiredInstance{onNet("new", "wp-network-9", 8003)},
			actual:   gone,
			want:     map[string][]string{"new": {"old"}},
		},
		{
			name:     "neither: no wait, though both are on the shared network",
			declared: []DesiredInstance{onNet("new", "wp-network-9", 8009)},
			actual:   gone,
			want:     map[string][]string{},
		},
		{
			name:     "a stopped container publishes nothing but is still on its network",
			declared: []DesiredInstance{onNet("new", "wp-network-3", 8009), onNet("other", "wp-network-8", 8003)},
			actual:   []docker.Container{listed("old", "db", "exited", "wp-network-3"), listed("old", "web", "exited", "wp-network-3")},
			want:     map[string][]string{"new": {"old"}},
		},
		{
			name:     "declared instances never wait for each other",
			declared: []DesiredInstance{onNet("a", "wp-network-3", 8003), onNet("b", "wp-network-4", 8004)},
			actual: []docker.Container{
				listed("a", "db", "running", "wp-network-4", 8004), listed("b", "db", "running", "wp-network-3", 8003),
			},
			want: map[string][]string{},
		},
		{
			name:     "two gone instances, in name order",
			declared: []DesiredInstance{onNet("new", "wp-network-3", 8004)},
			actual:   append(slices.Clone(gone), listed("zold", "web", "running", "wp-network-4", 8004)),
			want:     map[string][]string{"new": {"old", "zold"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Plan(Desired{Instances: tt.declared}, Actual{Containers: tt.actual})
			if !reflect.DeepEqual(p.Wait, tt.want) {
				t.Errorf("waits = %v, want %v", p.Wait, tt.want)
			}
		})
	}
}
