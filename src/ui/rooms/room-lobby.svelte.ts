import type { RoomType } from '../../protocol/room-codes'
import type { RoomEngine } from '../../sdk'
import { parseRoomLink } from './room-words'

/** The type the lobby offers first: everyone on camera. */
export const DEFAULT_ROOM_TYPE: RoomType = 'm2m'

/**
 * The lobby's two forms: the type of room to create, and the room to join (an id or a
 * pasted link, with its type). A room link opened in the page (`?room=…&type=…`) fills
 * the join form in; nobody is put in a room without clicking Join.
 */
export class RoomLobbyForm {
  createType = $state<RoomType>(DEFAULT_ROOM_TYPE)
  /** How the new room's video travels: directly (a mesh, the default) or through the server (SFU). */
  createEngine = $state<RoomEngine>('native')
  joinText = $state('')
  joinType = $state<RoomType>(DEFAULT_ROOM_TYPE)
  /** The join form was filled in from the page's link. */
  readonly fromLink: boolean

  constructor(search: string) {
    const linked = search.startsWith('?') ? parseRoomLink(search) : null
    this.fromLink = linked !== null
    if (linked) {
      this.joinText = linked.rid
      if (linked.type) this.joinType = linked.type
    }
  }

  /** The room to join: the id (from a link or typed), and the link's type or else the chosen one. */
  get joinTarget(): { rid: string; type: RoomType } | null {
    const parsed = parseRoomLink(this.joinText)
    return parsed && { rid: parsed.rid, type: parsed.type ?? this.joinType }
  }

  /** A pasted link brings its type: the type picker follows it. */
  followPastedLink(): void {
    const type = parseRoomLink(this.joinText)?.type
    if (type) this.joinType = type
  }
}
