// Tells the server that this person heard a voice message (the dot goes, the sender sees it).
import { api } from "../chat/api.js";

// Playback past this many seconds counts as heard, as does reaching the end.
export const HEARD_AFTER_SECONDS = 3;

/** The server's record {message_id, user_id, display_name, heard_at, ...}. */
export function reportHeard(messageId) {
  return api(`/api/chat/messages/${messageId}/heard`, { method: "PUT" });
}
