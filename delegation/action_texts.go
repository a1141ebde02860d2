package delegation

import (
	"context"
	"encoding/json"
	"strings"
)

// Action texts in several languages. A service knows the representative's
// language, not the represented person's, so it may report an action in
// every language it speaks; the person's timeline shows it in the
// language of the page (issue 14: the timeline was German on a French
// page).

// actionTextsPrefix marks an action text kept in several languages: a
// plain action text cannot begin with it ('<' is refused there).
const actionTextsPrefix = "<texts>"

// actionLangs are the languages an action text may be given in.
var actionLangs = map[string]bool{"de": true, "fr": true, "it": true, "en": true}

// RecordActionTexts is RecordAction with the text in several languages:
// action is the text in the service's default language, shown where no
// other fits; texts holds translations by language (de, fr, it, en), each
// checked like action. An unknown language is refused (field "action").
func (s *Service) RecordActionTexts(ctx context.Context, representationID, clientID, action string, texts map[string]string) error {
	action = strings.TrimSpace(action)
	all := map[string]string{"": action}
	ok := validAction(action)
	for lang, text := range texts {
		text = strings.TrimSpace(text)
		ok = ok && actionLangs[lang] && validAction(text)
		all[lang] = text
	}
	if !ok {
		return verr(map[string][]string{"action": {"err.rep_action_invalid"}})
	}
	if len(texts) == 0 {
		return s.recordAction(ctx, representationID, clientID, action)
	}
	raw, err := json.Marshal(all)
	if err != nil {
		return err
	}
	return s.recordAction(ctx, representationID, clientID, actionTextsPrefix+string(raw))
}

// ActionText returns the text of an action event's Detail (as Timeline
// returns it) in lang: its translation into lang if the service gave one,
// else the text in the service's default language.
func ActionText(detail, lang string) string {
	enc, ok := strings.CutPrefix(detail, actionTextsPrefix)
	if !ok {
		return detail
	}
	var all map[string]string
	if err := json.Unmarshal([]byte(enc), &all); err != nil {
		return ""
	}
	if t := all[lang]; t != "" {
		return t
	}
	return all[""]
}
