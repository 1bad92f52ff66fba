// Only one voice message plays at a time; when one ends, the next unheard one plays
// (as Telegram does).
let current = null;
const players = new Set();

export function claimPlayback(player) {
  if (current && current !== player) current.pause();
  current = player;
}

export function releasePlayback(player) {
  if (current === player) current = null;
}

export function registerPlayer(player) {
  players.add(player);
}

export function unregisterPlayer(player) {
  players.delete(player);
  releasePlayback(player);
}

/** Starts the first unheard voice message shown after `finished`; true if one started. */
export function playNextUnheard(finished) {
  const following = [...players].filter(
    (player) =>
      player !== finished &&
      player.element.isConnected &&
      player.unheardByMe &&
      finished.element.compareDocumentPosition(player.element) & Node.DOCUMENT_POSITION_FOLLOWING,
  );
  following.sort((a, b) => (a.element.compareDocumentPosition(b.element) & Node.DOCUMENT_POSITION_FOLLOWING ? -1 : 1));
  const next = following[0];
  if (!next) return false;
  next.play({ automatic: true });
  return true;
}
