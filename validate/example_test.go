package validate_test

import (
	"errors"
	"fmt"

	"github.com/botlife/botlife/validate"
)

func ExampleValidator_Validate() {
	d := validate.Definition{
		Channel:     "sms",
		EntryDialog: "hello",
		Dialogs: []validate.Dialog{{ID: "hello", Name: "Hello", Elements: []validate.Element{
			{Type: validate.Text, Text: "Hi {{name}}!"},
			{Type: validate.GoTo, Target: "bye"},
		}}},
	}
	r := validate.Default().Validate(&d)
	for _, f := range r.Findings {
		fmt.Println(f)
	}
	fmt.Println(errors.Is(r.Err(), validate.ErrValidation))
	// Output:
	// error attribute.undeclared at dialogs[0].elements[0].text: attribute "name" is used but not declared; add it to attributes
	// error target.unknown at dialogs[0].elements[1].target: goto points to dialog "bye", which does not exist; set target to the id of one of the dialogs
	// warning fallback.missing at fallback_dialog: no fallback dialog is set; messages the bot does not understand get no answer
	// true
}

func ExampleValidator_WithSeverity() {
	// A team that wants every chatbot to have a fallback dialog.
	strict, err := validate.Default().WithSeverity("fallback.missing", validate.Error)
	if err != nil {
		panic(err)
	}
	d := validate.Definition{Channel: "livechat", EntryDialog: "a", Dialogs: []validate.Dialog{
		{ID: "a", Name: "A", Elements: []validate.Element{{Type: validate.Close}}},
	}}
	fmt.Println(strict.Validate(&d).Err())
	// Output:
	// validation failed with 1 error(s); fix them and try again: fallback_dialog: no fallback dialog is set; messages the bot does not understand get no answer (fallback.missing)
}

func ExampleReport_Fingerprint() {
	d := validate.Definition{Channel: "livechat", EntryDialog: "a", Dialogs: []validate.Dialog{
		{ID: "a", Name: "A", Elements: []validate.Element{{Type: validate.Close}}},
	}}
	r := validate.Default().Validate(&d)
	// Acknowledge exactly these warnings by passing the fingerprint back
	// with the activation request.
	fmt.Println(r.WarningCodes(), len(r.Fingerprint()))
	// Output:
	// [fallback.missing] 16
}
