// Only one voice message plays at a time.
let current = null;

export function claimPlayback(player) {
  if (current && current !== player) current.pause();
  current = player;
}

export function releasePlayback(player) {
  if (current === player) current = null;
}
