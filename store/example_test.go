package store_test

import (
	"context"
	"fmt"

	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/roles"
	"github.com/botlife/botlife/store"
)

func ExampleNewMemory() {
	ctx := context.Background()
	st := store.NewMemory()
	m, err := lifecycle.New(lifecycle.Config{Store: st})
	if err != nil {
		panic(err)
	}
	// The service makes its first Admin as the system.
	if _, err := m.GrantRole(ctx, lifecycle.System("bootstrap"), "ada", roles.Admin); err != nil {
		panic(err)
	}
	rs, admins, _ := st.Roles(ctx, "", "ada")
	fmt.Println("ada", rs, admins)
	log, _ := st.AuditLog(ctx, "", 0, 10)
	fmt.Println(log[0].Seq, log[0].Actor, log[0].Action, log[0].User, log[0].Role)
	// Output:
	// ada Admin 1
	// 1 system grant_role ada Admin
}
