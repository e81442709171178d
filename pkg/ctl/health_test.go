package ctl

import (
	"slices"
	"testing"
)

func TestUnhealthy(t *testing.T) {
	running := ServiceStatus{Name: "web", State: "RUNNING", Ready: true}
	for _, tt := range []struct {
		name string
		svc  ServiceStatus
		want []string
	}{
		{"running and ready", running, nil},
		{"running, not ready", ServiceStatus{Name: "web", State: "RUNNING"}, []string{"web RUNNING (not ready)"}},
		{"starting", ServiceStatus{Name: "web", State: "STARTING"}, []string{"web STARTING (not ready)"}},
		{"backoff", ServiceStatus{Name: "web", State: "BACKOFF"}, []string{"web BACKOFF (not ready)"}},
		{"fatal", ServiceStatus{Name: "web", State: "FATAL"}, []string{"web FATAL (not ready)"}},
		{"stopping", ServiceStatus{Name: "web", State: "STOPPING"}, []string{"web STOPPING (not ready)"}},
		{"stopped by ctl", ServiceStatus{Name: "web", State: "STOPPED"}, nil},
		{"exited as its policy allows", ServiceStatus{Name: "job", State: "EXITED"}, nil},
		{"critical stopped", ServiceStatus{Name: "dockerd", State: "STOPPED", Critical: true}, []string{"dockerd STOPPED (not ready)"}},
		{"critical exited", ServiceStatus{Name: "dockerd", State: "EXITED", Critical: true}, []string{"dockerd EXITED (not ready)"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			st := &Status{Services: []ServiceStatus{running, tt.svc}}
			st.Services[0].Name = "other"
			if got := st.Unhealthy(); !slices.Equal(got, tt.want) {
				t.Errorf("Unhealthy() = %q, want %q", got, tt.want)
			}
		})
	}
}
